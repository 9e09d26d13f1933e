"""The script ``streamlit run`` executes: the land-cover explorer app (the page is :mod:`landcover.app.views`).

Run it with ``make app``, or ``python -m streamlit run src/landcover/app/main.py``.
"""

from landcover.app.views import render_app

render_app()
