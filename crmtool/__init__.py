"""crmtool: customer-resource analytics for B2B energy and chemical sellers.

Library first: ``crmtool.store.open_store``, ``crmtool.io.load.load_files``, ``crmtool.grading``,
``crmtool.churn`` … do in Python what the command line does.
"""

__version__ = "0.1.0"
