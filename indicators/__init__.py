"""Monitoring and evaluation of the CNAM PACA – Territoire du Pays d'Aix convention 2016-2018.

The core package: the convention's framework, the versioned DuckDB store, the importer, the KPI
computations and the `kpi` command. It never imports Streamlit; the dashboard is a thin face over it.
"""

__version__ = "0.1.0"
