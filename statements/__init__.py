"""Payee statements of a closed period: a PDF per payee (Chinese, CJK font embedded) and one
Excel workbook for the period. Rendering only: the data comes from ``warehouse.statements``."""
