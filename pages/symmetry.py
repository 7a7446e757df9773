"""Placeholder until its issue lands (replaced by the page itself)."""

import streamlit as st

from o2o_ops.ui import frame

frame.header("symmetry", frame.current_filters())
