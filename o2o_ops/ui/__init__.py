"""The only part of o2o_ops that imports streamlit: caching, the shared frame and widgets."""
