"""Renderers over result tables: files, Excel workbooks, HTML pages."""
