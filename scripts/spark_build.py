"""Entry point for spark-submit: ``spark-submit [options] scripts/spark_build.py --source SRC --out OUT``.

The same as ``python -m o2o_ops build --engine spark ...``; spark-submit's ``--master`` and
resources apply (no master is set here unless ``--master`` is passed). Ship the package with
``--py-files o2o_ops.zip`` (``zip -r o2o_ops.zip o2o_ops`` at the repository root) when the driver
does not run from a checkout.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # a checkout's o2o_ops, if any

from o2o_ops.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["build", "--engine", "spark", *sys.argv[1:]]))
