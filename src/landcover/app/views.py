"""The explorer app's page, section by section: choices, store status, map, point lookup, accounts, estimates, change.

:func:`render_app` draws the whole page; ``main.py`` (the script ``streamlit
run`` executes) only calls it. Every number comes from :mod:`landcover.app.data`,
which reads predictions from the prediction store and never predicts unless the
user presses a "Predict" button.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from landcover.app import data
from landcover.app.accounts import SEED, AreaEstimate, ChangeSummary
from landcover.app.lookup import PointLookup
from landcover.app.store import StoreStatus, predict_missing
from landcover.classes import CLASS_COLOURS, CLASS_NAMES
from landcover.config import data_root, online_allowed
from landcover.data import LABEL_YEARS
from landcover.errors import DataFileError, OnlineAccessDisabled, PointOutsideTilesError, RegionNotFoundError
from landcover.inference import LoadedModel, RegionPrediction
from landcover.webmaps import BASE_TILES, WGS84

#: The banner of every page drawn from the synthetic data.
SYNTHETIC_BANNER = (
    "**Synthetic data.** Every map and number on this page comes from the book's generated synthetic "
    "dataset and the model trained on it, not from real Sentinel-2 imagery. Set `LANDCOVER_DATA_ROOT` "
    "to the real bucket to explore real regions."
)
NO_COMPARISON = "no comparison"
MAP_KEY_PREFIX = "explorer-map"
#: Column headings of the tables, for readers (units in the heading).
ACCOUNT_HEADINGS = {"class": "class", "class_name": "name", "pixels": "pixels", "area_km2": "area (km²)",
                    "share": "share of covered area"}
GROUP_HEADINGS = {"group": "group", "area_km2": "area (km²)", "share": "share of covered area"}
ESTIMATE_HEADINGS = {"class": "class", "class_name": "name", "mapped_km2": "map (km²)", "estimate_km2": "estimate (km²)",
                     "ci95_km2": "95 % CI (km²)", "lower_km2": "lower (km²)", "upper_km2": "upper (km²)",
                     "users_accuracy": "user's accuracy", "producers_accuracy": "producer's accuracy"}
#: Session-state keys of the point lookup's inputs.
LON_KEY, LAT_KEY = "lookup_lon", "lookup_lat"


@dataclass(frozen=True)
class Choice:
    """What the sidebar chose: the region, the year, the year to compare with, the base map."""

    nuts: str
    year: int
    compare: int | None
    base: str | None


def data_note(synthetic: bool) -> str:
    """The words that say where the numbers come from, for titles and captions."""
    return "synthetic data" if synthetic else "Sentinel-2 L2A"


def sidebar(root: str) -> Choice:
    """The region, year, comparison year and base-map choices (sidebar widgets)."""
    st.sidebar.header("Region and year")
    regions = data.get_regions(root)
    if not regions:
        st.error(f"The data root {root} holds no region (no `images/<NUTS3>/<year>/` folder).")
        st.stop()
    nuts = st.sidebar.selectbox("Region (NUTS3)", regions, key="region")
    years = data.get_years(root, nuts)
    if not years:
        st.error(f"{nuts} has no tiles under {root}.")
        st.stop()
    year = st.sidebar.selectbox("Year", years, index=len(years) - 1, key="year")
    others = [y for y in years if y != year]
    options: list[int | str] = [NO_COMPARISON, *others]
    earlier = [y for y in others if y < year]
    default = options.index(earlier[-1]) if earlier else (1 if others else 0)
    compare = st.sidebar.selectbox("Compare with (change)", options, index=default, key="compare_year",
                                   format_func=lambda v: "No comparison" if v == NO_COMPARISON else str(v))
    online = st.sidebar.checkbox("OpenStreetMap base map (needs the internet)", value=online_allowed(),
                                 key="base_map", help="Off: the map has a grey background and reaches no server.")
    st.sidebar.caption(f"Data root: `{root}`")
    return Choice(str(nuts), int(year), None if compare == NO_COMPARISON else int(compare),
                  BASE_TILES if online else None)


def load_model_or_stop(root: str) -> LoadedModel:
    """The model (cached), or an error on the page that says what is missing."""
    try:
        return data.get_model(data.model_source(), root)
    except (FileNotFoundError, LookupError, ValueError) as error:
        st.error(f"No model could be loaded: {error}. Run `make model`, or set `LANDCOVER_MODEL`.")
        st.stop()
        raise  # st.stop() raises; this line keeps type checkers happy


def predict_button(status: StoreStatus, model: LoadedModel, root: str, *, probability: bool = False) -> None:
    """A button that predicts (and stores) what the store lacks for a region-year, then reruns the page."""
    count = len(status.missing_probability if probability else status.missing)
    what = "uncertainty of" if probability else "missing"
    label = f"Predict the {what} {count} tile{'s' if count != 1 else ''} of {status.nuts} {status.year}"
    if st.button(label, key=f"predict-{status.nuts}-{status.year}-{int(probability)}", type="primary"):
        with st.spinner(f"Predicting {count} tiles with {status.model_name} (version {status.model_version})…"):
            predict_missing(status.nuts, status.year, model, probability=probability, root=root)
        data.clear_store_caches()
        st.rerun()


def store_panel(status: StoreStatus, region: RegionPrediction, model: LoadedModel, root: str) -> None:
    """Which tiles were read from the store, and the offer to predict the rest (never done unasked)."""
    read = sum(entry["cached"] for entry in region["tiles"])
    message = (f"{read} of {len(region['tiles'])} tiles read from the prediction store `{status.location}` "
               f"(model {status.model_name}, version {status.model_version}); nothing was predicted.")
    if status.complete:
        st.success(message, icon=":material/check_circle:")
    else:
        st.warning(f"{message} {len(status.missing)} tiles are not in the store: they show as nodata and are "
                   "left out of the numbers until you predict them (once; the API then finds them too).")
        predict_button(status, model, root)


def default_point(region: RegionPrediction) -> tuple[float, float]:
    """(lon, lat) of the centre of the tile nearest the middle of the mosaic (a point that lies on a tile)."""
    from pyproj import Transformer

    xmin, ymin, xmax, ymax = region["bounds"]
    cx, cy = (xmin + xmax) / 2, (ymin + ymax) / 2
    centres = [((b[0] + b[2]) / 2, (b[1] + b[3]) / 2) for b in (t["bbox"] for t in region["tiles"])]
    x, y = min(centres, key=lambda c: (c[0] - cx) ** 2 + (c[1] - cy) ** 2)
    lon, lat = Transformer.from_crs("EPSG:3035", WGS84, always_xy=True).transform(x, y)
    return round(float(lon), 5), round(float(lat), 5)


def reset_point_for(choice: Choice, region: RegionPrediction) -> None:
    """Put the point lookup on the default point when the region or year changes."""
    if st.session_state.get("lookup_for") != (choice.nuts, choice.year):
        st.session_state["lookup_for"] = (choice.nuts, choice.year)
        st.session_state[LON_KEY], st.session_state[LAT_KEY] = default_point(region)


def map_section(choice: Choice, status: StoreStatus, region: RegionPrediction, label: np.ndarray | None,
                change: ChangeSummary | None, model: LoadedModel, root: str, note: str) -> None:
    """The folium map (layers, legend) and the point lookup beside it; a click on the map moves the point."""
    import folium

    title = f"Land cover, {choice.nuts}, {choice.year} — {note}"
    change_key = "none" if change is None else f"{change.first_year}-{change.second_year}"
    fmap = data.get_map(root, data.model_id(model), choice.nuts, choice.year, status.key, change_key, choice.base,
                        title, region, label, change)
    point = folium.FeatureGroup(name="Point lookup")
    folium.CircleMarker(location=[st.session_state[LAT_KEY], st.session_state[LON_KEY]], radius=7, color="#000000",
                        weight=2, fill=True, fill_color="#ffffff", fill_opacity=0.9, tooltip="Point lookup").add_to(point)
    left, right = st.columns([2, 1], gap="medium")
    with left:
        st.subheader(f"Map of {choice.nuts}, {choice.year}")
        output = st_folium(fmap, key=f"{MAP_KEY_PREFIX}-{choice.nuts}-{choice.year}", height=620,
                           use_container_width=True, returned_objects=["last_clicked"], feature_group_to_add=point)
        st.caption("Switch layers in the map's layer control. The label exists for 2018 and 2021 only; the "
                   "uncertainty needs the probabilities in the store. Click the map to look a point up.")
        if status.missing_probability and status.masks:
            st.info(f"{len(status.missing_probability)} tiles have no stored probability, so the uncertainty "
                    "layer lacks them.")
            predict_button(status, model, root, probability=True)
    clicked = (output or {}).get("last_clicked") if isinstance(output, dict) else None
    if clicked and clicked != st.session_state.get("last_click"):
        st.session_state["last_click"] = clicked
        st.session_state[LON_KEY] = round(float(clicked["lng"]), 5)
        st.session_state[LAT_KEY] = round(float(clicked["lat"]), 5)
        st.rerun()
    with right:
        lookup_section(choice, status, region, label, model, root, note)


def lookup_section(choice: Choice, status: StoreStatus, region: RegionPrediction, label: np.ndarray | None,
                   model: LoadedModel, root: str, note: str) -> None:
    """Longitude/latitude inputs and what lies there: the tile, its prediction and its class shares."""
    st.subheader("Point lookup")
    lon_col, lat_col = st.columns(2)
    lon = lon_col.number_input("Longitude (°E, WGS84)", min_value=-180.0, max_value=180.0, step=0.001,
                               format="%.5f", key=LON_KEY)
    lat = lat_col.number_input("Latitude (°N, WGS84)", min_value=-90.0, max_value=90.0, step=0.001,
                               format="%.5f", key=LAT_KEY)
    try:
        found = data.get_lookup(root, data.model_id(model), choice.nuts, choice.year, status.key, float(lon),
                                float(lat), region, label)
    except PointOutsideTilesError as error:
        st.warning(f"No tile of {choice.nuts} {choice.year} holds this point: {error}")
        return
    show_lookup(found, note)


def show_lookup(found: PointLookup, note: str) -> None:
    """The tile of a point lookup: name, store status, classes at the point, pictures and class shares."""
    source = "read from the prediction store" if found.cached else "not in the prediction store (shown as nodata)"
    st.markdown(f"**Tile** `{found.stem}` ({found.nuts} {found.year}), prediction {source}.")
    where = f"in {found.region_at_point}" if found.region_at_point else "outside the outlines of the regions"
    st.markdown(f"At the point (x {found.x:,.0f} m, y {found.y:,.0f} m, EPSG:3035; {where}): predicted "
                f"**{found.predicted_name}**" + ("" if found.labelled is None else
                                                 f", label **{CLASS_NAMES.get(found.labelled, 'No data')}**") + ".")
    st.image([found.rgb, found.prediction_rgba], caption=["True colour", "Predicted classes"], width=190)
    shares = found.shares
    table = pd.DataFrame({"class": [f"{c} {n}" for c, n in zip(shares["class"], shares["class_name"], strict=True)],
                          "predicted (km²)": shares["predicted_km2"], "predicted share": shares["predicted_share"]})
    keep = shares["predicted_pixels"] > 0
    if "label_share" in shares.columns:
        table["label share"] = shares["label_share"]
        keep |= shares["label_pixels"] > 0
    st.table(table[keep].style.format({"predicted (km²)": "{:.4f}", "predicted share": "{:.1%}",
                                       "label share": "{:.1%}"}, na_rep="–"), hide_index=True)
    st.caption(f"Class shares of tile {found.stem}, {found.nuts} {found.year}: shares of its classified pixels; "
               f"areas in km² (10 m pixels of EPSG:3035). {note.capitalize()}.")


def class_chart(table: pd.DataFrame, value: str, title: str, axis_title: str) -> alt.Chart:
    """Horizontal bars of one value per class, in the class colours, classes in table order."""
    frame = table.assign(label=[f"{int(c)} {CLASS_NAMES[int(c)]}" for c in table["class"]])
    order = list(frame["label"])
    colours = [CLASS_COLOURS[int(c)] for c in table["class"]]
    return (alt.Chart(frame, title=title).mark_bar(stroke="black", strokeWidth=0.4)
            .encode(x=alt.X(f"{value}:Q", title=axis_title),
                    y=alt.Y("label:N", sort=order, title="class", axis=alt.Axis(labelLimit=260)),
                    color=alt.Color("label:N", scale=alt.Scale(domain=order, range=colours), legend=None),
                    tooltip=["label", alt.Tooltip(f"{value}:Q", format=",.4f")]))


def accounts_section(choice: Choice, status: StoreStatus, region: RegionPrediction, model: LoadedModel, root: str,
                     note: str) -> None:
    """The region's class accounts (table and chart), coverage, nodata share and indicators."""
    numbers = data.get_accounts(root, data.model_id(model), choice.nuts, choice.year, status.key, region)
    coverage = numbers["coverage"].iloc[0]
    indicators = numbers["indicators"].iloc[0]
    cols = st.columns(5)
    cols[0].metric("Region area (NUTS outline)", f"{coverage['region_area_km2']:,.1f} km²")
    cols[1].metric("Covered with a class", f"{coverage['valid_km2']:,.2f} km²", help="Pixels inside the outline, "
                   "on tiles read from the store, that have a class.")
    cols[2].metric("Coverage", f"{coverage['coverage']:.2%}", help="Covered area / region area.")
    nodata_share = coverage["nodata_share"]
    cols[3].metric("Nodata (cloud) share", "–" if pd.isna(nodata_share) else f"{nodata_share:.2%}",
                   help="Share of the region's pixels on the tiles read that have no class: clouds and shadows.")
    sealed = indicators["sealed_share_of_land"]
    cols[4].metric("Sealed share of land", "–" if pd.isna(sealed) else f"{sealed:.2%}",
                   help=f"Tree cover share of land (SDG 15.1.1 proxy): {indicators['tree_cover_share_of_land']:.2%}")
    table = numbers["accounts"]
    st.table(table.rename(columns=ACCOUNT_HEADINGS).style.format(
        {"pixels": "{:,}", "area (km²)": "{:,.4f}", "share of covered area": "{:.2%}"}, na_rep="–"), hide_index=True)
    st.caption(f"Land cover by class, {choice.nuts} {choice.year}: pixels whose centre lies inside the NUTS3 "
               f"outline (pixel-centre rule), area in km² (EPSG:3035, 10 m pixels), share of the covered area. "
               f"{note.capitalize()}.")
    chart = class_chart(table, "area_km2", f"Class areas, {choice.nuts}, {choice.year} — {note}", "area (km²)")
    st.altair_chart(chart, width="stretch")
    groups = numbers["groups"][["group", "area_km2", "share"]].rename(columns=GROUP_HEADINGS)
    st.table(groups.style.format({"area (km²)": "{:,.4f}", "share of covered area": "{:.2%}"}, na_rep="–"),
             hide_index=True)
    st.caption(f"Groups of classes, {choice.nuts} {choice.year}, km² and share of the covered area "
               f"(tree cover = classes 2–4). {note.capitalize()}.")


def estimate_section(choice: Choice, status: StoreStatus, region: RegionPrediction, label: np.ndarray | None,
                     model: LoadedModel, root: str, note: str) -> None:
    """Bias-adjusted areas with 95 % intervals from a stratified sample, labels as reference (labelled years)."""
    if label is None:
        st.info(f"{choice.year} has no CLC+ label (labels exist for {', '.join(map(str, LABEL_YEARS))}), so no "
                "reference sample can be read: pick a labelled year for the bias-adjusted areas.")
        return
    try:
        estimate: AreaEstimate = data.get_estimate(root, data.model_id(model), choice.nuts, choice.year, status.key,
                                                   SEED, region)
    except ValueError as error:
        st.warning(f"No estimate for {choice.nuts} {choice.year}: {error}")
        return
    st.markdown(
        f"A stratified random sample of **{estimate.sample_size:,} pixels** (strata: the map's classes inside "
        f"the outline, at least 30 per class, seed {estimate.seed}) with the CLC+ label as reference, as in "
        "chapter 4; areas by the estimator of Olofsson et al. (2014). Overall accuracy "
        f"**{estimate.overall_accuracy:.3f} ± {1.96 * estimate.overall_accuracy_se:.3f}** (95 %).")
    for text in estimate.notes:
        st.caption(f"Note: {text}.")
    formats = {"map (km²)": "{:,.4f}", "estimate (km²)": "{:,.4f}", "95 % CI (km²)": "± {:,.4f}",
               "lower (km²)": "{:,.4f}", "upper (km²)": "{:,.4f}", "user's accuracy": "{:.3f}",
               "producer's accuracy": "{:.3f}"}
    st.table(estimate.table.rename(columns=ESTIMATE_HEADINGS).style.format(formats, na_rep="–"), hide_index=True)
    st.caption(f"Class areas, {choice.nuts} {choice.year}, km²: the map's pixel count (of the part with a label) "
               "and the bias-adjusted estimate with its 95 % confidence interval. The labels stand in for a "
               f"field survey here. {note.capitalize()}.")
    frame = estimate.table.assign(label=[f"{int(c)} {CLASS_NAMES[int(c)]}" for c in estimate.table["class"]])
    long = frame.melt(id_vars=["label", "lower_km2", "upper_km2"], value_vars=["mapped_km2", "estimate_km2"],
                      var_name="kind", value_name="km2")
    kinds = ["map (pixel count)", "estimate, 95 % CI"]
    long["kind"] = long["kind"].map({"mapped_km2": kinds[0], "estimate_km2": kinds[1]})
    order = list(frame["label"])
    offset = alt.YOffset("kind:N", scale=alt.Scale(domain=kinds))
    bars = alt.Chart(long).mark_bar(stroke="black", strokeWidth=0.4).encode(
        x=alt.X("km2:Q", title="area (km²)"),
        y=alt.Y("label:N", sort=order, title="class", axis=alt.Axis(labelLimit=260)), yOffset=offset,
        color=alt.Color("kind:N", title=None, scale=alt.Scale(domain=kinds, range=["#bbbbbb", "#4c72b0"])),
        tooltip=["label", "kind", alt.Tooltip("km2:Q", format=",.4f")])
    errors = alt.Chart(frame.assign(kind=kinds[1])).mark_errorbar(ticks=True, color="black").encode(
        x=alt.X("lower_km2:Q", title="area (km²)"), x2="upper_km2:Q", y=alt.Y("label:N", sort=order),
        yOffset=offset)
    chart = alt.layer(bars, errors).properties(
        title=f"Class areas, {choice.nuts}, {choice.year}: map and estimate with 95 % CI — {note}")
    st.altair_chart(chart, width="stretch")


def change_section(choice: Choice, change: ChangeSummary | None, compare_status: StoreStatus | None,
                   model: LoadedModel, root: str, note: str) -> None:
    """Transitions between the two chosen years, the change per class, and land take."""
    if choice.compare is None:
        st.info("Choose a year to compare with in the sidebar.")
        return
    if compare_status is not None and not compare_status.complete:
        st.warning(f"{len(compare_status.missing)} tiles of {choice.nuts} {choice.compare} are not in the store: "
                   "their change is unknown until they are predicted.")
        predict_button(compare_status, model, root)
    if change is None:
        return
    first, second = change.first_year, change.second_year
    cols = st.columns(4)
    cols[0].metric(f"Land take {first}–{second}", f"{change.land_take_km2:,.4f} km²",
                   help="Area that became sealed (class 1) from another class.")
    cols[1].metric("Land take per year", f"{change.land_take_rate:.3%}",
                   help="Of the compared area, per year.")
    cols[2].metric("Area whose class changed", f"{change.changed_km2:,.2f} km²")
    cols[3].metric("Changed share", f"{change.changed_share:.1%}", help=f"Of {change.compared_km2:,.2f} km² "
                   "compared (pixels with a class in both years, inside the outline).")
    transitions = change.transitions.copy()
    transitions.index = [f"{c} {CLASS_NAMES[c]}" for c in transitions.index]
    transitions.columns = [str(c) for c in transitions.columns]
    st.table(transitions.style.format("{:,.3f}"))
    st.caption(f"Transitions {first} → {second}, {choice.nuts}, km²: class in {first} (rows) to class in "
               f"{second} (columns, by class id); the diagonal did not change. Pixel-centre rule; pixels without "
               f"a class in either year are left out. The map's layer \"Class changed\" shows where. "
               f"{note.capitalize()}.")
    components = change.components.reset_index()
    components.insert(1, "name", [CLASS_NAMES[int(c)] for c in components["class"]])
    st.table(components.style.format({c: "{:,.3f}" for c in components.columns[2:]}), hide_index=True)
    st.caption(f"Change per class, {first} → {second}, km²: opening and closing area, gains, losses, net and "
               f"gross change and swap. {note.capitalize()}.")


def tiles_section(status: StoreStatus, region: RegionPrediction) -> None:
    """Every tile of the region-year: read from the store, probability stored."""
    table = pd.DataFrame({
        "tile": [t["stem"] for t in region["tiles"]],
        "read_from_store": [bool(t["cached"]) for t in region["tiles"]],
        "probability_stored": [t["stem"] in status.probabilities for t in region["tiles"]],
    })
    st.dataframe(table, hide_index=True)
    st.caption(f"Store: `{status.location}`, model {status.model_name}, version {status.model_version}.")


def render_app() -> None:
    """Draw the explorer app's page (called by ``main.py`` on every rerun)."""
    st.set_page_config(page_title="Land-cover explorer", page_icon="🗺️", layout="wide")
    root = data_root()
    synthetic = data.is_synthetic(root)
    note = data_note(synthetic)
    st.title("Land-cover explorer")
    if synthetic:
        st.warning(SYNTHETIC_BANNER, icon=":material/science:")
    choice = sidebar(root)
    try:
        data.get_outlines(root)
    except (OnlineAccessDisabled, RegionNotFoundError, DataFileError, FileNotFoundError) as error:
        st.error(f"The NUTS3 outlines could not be read, so nothing can be clipped to a region: {error}")
        st.stop()
    model = load_model_or_stop(root)
    status = data.get_status(root, data.model_id(model), choice.nuts, choice.year, model)
    region = data.get_region(root, data.model_id(model), choice.nuts, choice.year, bool(status.probabilities),
                             status.key, model)
    label = data.get_label(root, choice.nuts, choice.year, region)
    store_panel(status, region, model, root)
    change, compare_status = None, None
    if choice.compare is not None:
        compare_status = data.get_status(root, data.model_id(model), choice.nuts, choice.compare, model)
        other = data.get_region(root, data.model_id(model), choice.nuts, choice.compare, False, compare_status.key,
                                model)
        first, second = sorted([(choice.year, region, status), (choice.compare, other, compare_status)],
                               key=lambda item: item[0])
        change = data.get_change(root, data.model_id(model), choice.nuts, (first[0], second[0]),
                                 (first[2].key, second[2].key), first[1], second[1])
    reset_point_for(choice, region)
    map_section(choice, status, region, label, change, model, root, note)
    accounts_tab, estimate_tab, change_tab, tiles_tab = st.tabs(
        ["Accounts and indicators", "Bias-adjusted areas", "Change between years", "Tiles and store"])
    with accounts_tab:
        accounts_section(choice, status, region, model, root, note)
    with estimate_tab:
        estimate_section(choice, status, region, label, model, root, note)
    with change_tab:
        change_section(choice, change, compare_status, model, root, note)
    with tiles_tab:
        tiles_section(status, region)

