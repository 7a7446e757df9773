"""The KPI layer: every measure and every KPI declared once; everything else is generated.

- :mod:`o2o_ops.kpis.measures` — additive measures at the order grain (one rollup column each),
  their slices, the cost measures and the named formulas (net revenue, ROI cost, promotion cost);
- :mod:`o2o_ops.kpis.catalog` — the KPIs: label, unit, direction, kind and what they are built
  from; their inputs, evidence threshold and whether they mature after the order;
- :mod:`o2o_ops.kpis.symmetry_index` — the symmetry index's weights and constants;
- :mod:`o2o_ops.kpis.sql` — the SQL generated from them (rollup columns, sums, KPI expressions,
  reference queries on the fact table).

:mod:`o2o_ops.metrics` runs the generated SQL at any grain. How to add a measure or a KPI:
``docs/kpi-layer.md``. No connection, no streamlit here.
"""

from o2o_ops.kpis.catalog import (AREA_LABELS, HEADLINE, KPI_LIST, KPIS, Kpi, definitions_frame, inputs_of,
                                  missing_inputs)
from o2o_ops.kpis.measures import FORMULAS, MEASURE_LIST, MEASURES, Measure

__all__ = ["AREA_LABELS", "FORMULAS", "HEADLINE", "KPI_LIST", "KPIS", "MEASURES", "MEASURE_LIST", "Kpi",
           "Measure", "definitions_frame", "inputs_of", "missing_inputs"]
