"""The land-cover explorer: a Streamlit app over the package, on the synthetic data or the real bucket.

Pick a region and a year; see the prediction on a map with the true colour,
the label and the model's uncertainty; the region's accounts, bias-adjusted
areas and change between years; and what lies under a point. Predictions are
read from the model-versioned prediction store the API shares, never
recomputed unasked.

- :mod:`~landcover.app.store`: what the store holds, read without predicting;
- :mod:`~landcover.app.accounts`: accounts, estimates and change (chapter 4's tools);
- :mod:`~landcover.app.lookup`: the tile under a point;
- :mod:`~landcover.app.maps`: the region's folium map on a display grid;
- :mod:`~landcover.app.data`: the cached loaders (Streamlit);
- :mod:`~landcover.app.views`: the page; ``main.py`` is the script ``streamlit run`` executes.

Only ``data`` and ``views`` import Streamlit.
"""
