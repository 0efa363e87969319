"""Rules (analysts): placeholder until the editor lands."""

from __future__ import annotations

import streamlit as st

from pages.components.page import open_view

view = open_view("rules")
st.title("Rules")
