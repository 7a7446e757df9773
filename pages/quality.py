"""Placeholder until its issue lands (replaced by the page itself)."""

import streamlit as st

from o2o_ops.ui import frame

frame.header("quality", frame.current_filters())
