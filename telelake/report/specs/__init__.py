"""Every chart spec, registered once: one module per family of reports.

To add charts, write a module here with a ``CHARTS`` tuple (see
``telelake/report/charts.py`` for what a chart is) and add it to the list
below. The order is the order in which a report's charts appear.
"""

from __future__ import annotations

from telelake.report.charts import register
from telelake.report.specs import activity, engagement, interaction, people, text

MODULES = (activity, interaction, engagement, people, text)

for _module in MODULES:
    register(*_module.CHARTS)
