"""o2o-ops: operations support for online-to-offline businesses.

The core package (everything outside ``o2o_ops.ui``) never imports streamlit and never
connects to anything at import time.
"""

__version__ = "0.1.0"
