"""Landscape recipes: what each synthetic region looks like, in a few dozen numbers.

A recipe places the features a reader would recognise on a map (the city and its
suburbs, rivers, lakes, big forests, airports, motorways) at their approximate
real positions (lon/lat, EPSG:4326), and sets the shares and sizes the simulator
uses to fill the rest (forest cover, needle-leaved share, arable share, parcel
size). The simulator in :mod:`landcover.synthetic.landscape` turns a recipe into
land-cover maps; nothing here is survey data.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Town:
    """A built-up area: sealed intensity ``density`` (0..1) at the centre, fading out at ``radius_m``."""

    lon: float
    lat: float
    radius_m: float
    density: float


@dataclass(frozen=True)
class Line:
    """A river, canal or road given by a lon/lat path.

    ``meander_m``: amplitude of the sideways wiggle added to the path (0 = as drawn);
    ``turbidity``: 0 clear .. 1 silty (rivers only); ``riparian``: chance that a
    bank carries a fringe of trees.
    """

    path: tuple[tuple[float, float], ...]
    width_m: float
    meander_m: float = 0.0
    turbidity: float = 0.2
    riparian: float = 0.0


@dataclass(frozen=True)
class Blob:
    """A round-ish feature (lake, forest, park, quarry...) of about ``radius_m``."""

    kind: str
    lon: float
    lat: float
    radius_m: float
    elongation: float = 1.0
    angle_deg: float = 0.0


@dataclass(frozen=True)
class Runway:
    """An airport runway (sealed) in a mown-grass surround."""

    lon: float
    lat: float
    length_m: float
    width_m: float
    heading_deg: float  # clockwise from north


#: Kinds a :class:`Blob` may have.
BLOB_KINDS = (
    "lake",  # water
    "broadleaf_forest",  # forces forest, broadleaved deciduous
    "needle_forest",  # forces forest, needle-leaved
    "evergreen_forest",  # forces forest, broadleaved evergreen (eucalyptus, cork oak)
    "park",  # urban park: grass and broadleaved trees, no buildings
    "farmland",  # keeps buildings out (peri-urban farms)
    "quarry",  # bare ground
    "burnt",  # burnt in 2017: bare in 2018, shrubs later
)


@dataclass(frozen=True)
class Recipe:
    """Everything the simulator needs to know about one region."""

    towns: tuple[Town, ...] = ()
    rivers: tuple[Line, ...] = ()
    roads: tuple[Line, ...] = ()
    blobs: tuple[Blob, ...] = ()
    runways: tuple[Runway, ...] = ()
    forest_share: float = 0.3  # of the land outside towns and water
    needle_share: float = 0.3  # of forest stands
    evergreen_share: float = 0.0  # of forest stands
    arable_share: float = 0.5  # of farm parcels (the rest: grassland, some shrubs)
    shrub_share: float = 0.03  # of farm parcels
    bare_share: float = 0.01  # of farm parcels (quarries, dumps, sand pits)
    parcel_m: tuple[float, float] = (260.0, 140.0)  # mean parcel length, width
    block_m: float = 90.0  # mean town-block spacing
    urban_floor: float = 0.0  # urban intensity everywhere (continuous city)
    mountains: bool = False  # elevation model with tree line and alpine zone
    dry_summer: bool = False  # Mediterranean: grass dry in the acquisition season
    growth: float = 0.25  # share of town-edge farm parcels built on per 3-year period
    clearcut: float = 0.03  # share of forest stands cut per period
    tags: dict = field(default_factory=dict)


def _town(lon: float, lat: float, radius: float, density: float) -> Town:
    return Town(lon, lat, radius, density)


LU_CITY = Recipe(
    towns=(
        _town(6.1296, 49.6116, 2600, 0.95),  # Luxembourg City
        _town(6.1620, 49.6290, 1000, 0.85),  # Kirchberg
        _town(6.0700, 49.6180, 900, 0.60),  # Strassen
        _town(6.0450, 49.6070, 800, 0.55),  # Bertrange
        _town(6.1600, 49.5720, 800, 0.55),  # Hesperange
        _town(6.1400, 49.5850, 800, 0.60),  # Howald
        _town(6.1300, 49.6600, 700, 0.50),  # Walferdange
        _town(6.2200, 49.6150, 600, 0.50),  # Sandweiler
        _town(6.1700, 49.6050, 600, 0.55),  # Hamm
        _town(6.0650, 49.5900, 550, 0.45),  # Leudelange
        _town(6.0900, 49.5550, 450, 0.45),  # Roeser
    ),
    rivers=(
        Line(
            (
                (6.158, 49.540),
                (6.155, 49.566),
                (6.142, 49.595),
                (6.134, 49.609),
                (6.136, 49.618),
                (6.141, 49.632),
                (6.139, 49.645),
                (6.131, 49.661),
                (6.122, 49.680),
            ),
            width_m=18,
            meander_m=70,
            turbidity=0.35,
            riparian=0.7,
        ),  # Alzette
        Line(
            ((6.060, 49.595), (6.085, 49.602), (6.110, 49.606), (6.134, 49.609)),
            width_m=10,
            meander_m=40,
            turbidity=0.3,
            riparian=0.8,
        ),  # Pétrusse
    ),
    roads=(
        Line(
            (
                (6.030, 49.603),
                (6.070, 49.604),
                (6.105, 49.598),
                (6.125, 49.585),
                (6.140, 49.560),
                (6.145, 49.535),
            ),
            width_m=28,
        ),  # A6 / A3
        Line(((6.125, 49.585), (6.170, 49.590), (6.200, 49.610), (6.215, 49.635)), width_m=28),  # A1
        Line(((6.134, 49.611), (6.150, 49.625), (6.175, 49.632), (6.215, 49.645)), width_m=20),
        Line(((6.129, 49.612), (6.100, 49.640), (6.060, 49.660)), width_m=14),
        Line(((6.129, 49.612), (6.125, 49.650), (6.128, 49.685)), width_m=14),
    ),
    blobs=(
        Blob("broadleaf_forest", 6.175, 49.660, 2200, 1.6, 30),  # Grünewald
        Blob("broadleaf_forest", 6.098, 49.638, 1100, 1.3, 60),  # Bambësch
        Blob("broadleaf_forest", 6.105, 49.570, 1000, 1.4, 10),  # Kockelscheuer
        Blob("needle_forest", 6.190, 49.650, 500),
        Blob("park", 6.126, 49.613, 350, 2.5, 150),  # Pétrusse valley parks
        Blob("park", 6.120, 49.617, 250),  # Municipal park
        Blob("lake", 6.108, 49.575, 90, 1.8, 20),  # Kockelscheuer pond
        Blob("quarry", 6.060, 49.560, 250),
        Blob("farmland", 6.070, 49.640, 1200),
        Blob("farmland", 6.200, 49.580, 1300),
    ),
    runways=(Runway(6.2044, 49.6266, 4000, 60, 60),),  # Findel
    forest_share=0.22,
    needle_share=0.25,
    arable_share=0.55,
    parcel_m=(300, 150),
    block_m=85,
)

LU_WEST = Recipe(
    towns=(
        _town(5.8480, 49.8300, 420, 0.45),  # Rambrouch
        _town(5.8300, 49.8430, 300, 0.40),  # Koetschette
        _town(5.8700, 49.8020, 350, 0.40),  # Folschette
        _town(5.7680, 49.8100, 350, 0.40),  # Perlé
        _town(5.8050, 49.8120, 280, 0.35),  # Holtz
        _town(5.8550, 49.8620, 300, 0.40),  # Arsdorf
        _town(5.8950, 49.8500, 280, 0.35),
        _town(5.7950, 49.8520, 300, 0.35),  # Bigonville
    ),
    rivers=(
        Line(
            ((5.775, 49.870), (5.810, 49.858), (5.845, 49.848), (5.880, 49.835), (5.915, 49.828)),
            width_m=12,
            meander_m=90,
            turbidity=0.3,
            riparian=0.9,
        ),
        Line(
            ((5.840, 49.790), (5.860, 49.805), (5.880, 49.835)),
            width_m=9,
            meander_m=60,
            turbidity=0.3,
            riparian=0.9,
        ),
    ),
    roads=(
        Line(
            ((5.770, 49.800), (5.810, 49.812), (5.848, 49.830), (5.880, 49.850), (5.915, 49.870)), width_m=12
        ),
        Line(((5.848, 49.830), (5.855, 49.862), (5.860, 49.880)), width_m=10),
        Line(((5.848, 49.830), (5.870, 49.802), (5.880, 49.775)), width_m=10),
    ),
    blobs=(
        Blob("needle_forest", 5.890, 49.868, 900, 1.5, 80),
        Blob("broadleaf_forest", 5.800, 49.790, 800),
        Blob("lake", 5.905, 49.800, 260, 2.2, 45),  # a reservoir, wide enough for open water far from its shore
    ),
    forest_share=0.34,
    needle_share=0.40,
    arable_share=0.40,
    shrub_share=0.04,
    parcel_m=(280, 140),
    block_m=70,
    growth=0.12,
)

BE_BRUSSELS = Recipe(
    towns=(
        _town(4.3517, 50.8466, 5200, 1.00),  # Pentagon and inner communes
        _town(4.3800, 50.8650, 1800, 0.90),  # Schaerbeek
        _town(4.3700, 50.8300, 1500, 0.90),  # Ixelles
        _town(4.3100, 50.8350, 1800, 0.85),  # Anderlecht
        _town(4.3200, 50.8550, 1300, 0.90),  # Molenbeek
        _town(4.3400, 50.8000, 2000, 0.60),  # Uccle
        _town(4.4300, 50.8400, 2000, 0.65),  # Woluwe
        _town(4.4000, 50.8700, 1300, 0.85),  # Evere
        _town(4.3300, 50.8800, 1500, 0.75),  # Jette, Laeken
        _town(4.4100, 50.8100, 1300, 0.60),  # Auderghem, Watermael-Boitsfort
        _town(4.3200, 50.8100, 1200, 0.75),  # Forest
        _town(4.4200, 50.8900, 700, 0.60),  # Haren
        _town(4.4700, 50.8800, 1000, 0.70),  # Zaventem
        _town(4.2600, 50.8500, 900, 0.55),  # Dilbeek
        _town(4.3200, 50.7800, 700, 0.50),  # Drogenbos, Linkebeek
        _town(4.4700, 50.8500, 700, 0.55),  # Kraainem
    ),
    rivers=(
        Line(
            (
                (4.270, 50.800),
                (4.285, 50.808),
                (4.310, 50.830),
                (4.332, 50.848),
                (4.345, 50.862),
                (4.360, 50.878),
                (4.375, 50.895),
                (4.392, 50.918),
            ),
            width_m=45,
            turbidity=0.3,
        ),  # canal
        Line(
            ((4.460, 50.780), (4.440, 50.805), (4.430, 50.830), (4.425, 50.860), (4.440, 50.905)),
            width_m=8,
            meander_m=40,
            turbidity=0.4,
            riparian=0.8,
        ),  # Woluwe brook
    ),
    roads=(
        Line(
            (
                (4.265, 50.790),
                (4.255, 50.830),
                (4.262, 50.870),
                (4.300, 50.905),
                (4.380, 50.915),
                (4.460, 50.905),
                (4.495, 50.870),
            ),
            width_m=32,
        ),  # Ring R0
        Line(((4.400, 50.855), (4.440, 50.862), (4.495, 50.875)), width_m=30),  # E40
        Line(((4.410, 50.812), (4.440, 50.800), (4.495, 50.782)), width_m=30),  # E411
        Line(
            (
                (4.300, 50.860),
                (4.340, 50.862),
                (4.370, 50.855),
                (4.380, 50.838),
                (4.365, 50.830),
                (4.345, 50.835),
            ),
            width_m=26,
        ),  # inner ring
    ),
    blobs=(
        Blob("broadleaf_forest", 4.425, 50.782, 1900, 1.4, 45),  # Sonian forest
        Blob("broadleaf_forest", 4.455, 50.770, 1500, 1.3, 20),
        Blob("broadleaf_forest", 4.400, 50.770, 1100),
        Blob("park", 4.378, 50.813, 550, 1.8, 160),  # Bois de la Cambre
        Blob("park", 4.355, 50.893, 650, 1.5, 70),  # Laeken park
        Blob("park", 4.430, 50.830, 450),  # Woluwe park
        Blob("park", 4.325, 50.815, 380),  # Forest park, Duden
        Blob("park", 4.391, 50.840, 300, 1.6, 90),  # Cinquantenaire
        Blob("park", 4.383, 50.865, 260),  # Josaphat
        Blob("park", 4.317, 50.866, 350),  # Koekelberg
        Blob("park", 4.290, 50.845, 500),  # Scheutbos
        Blob("farmland", 4.268, 50.822, 1500),  # Neerpede
        Blob("farmland", 4.440, 50.900, 800),  # Haren fields
        Blob("lake", 4.374, 50.822, 90, 2.5, 10),  # Ixelles ponds
        Blob("lake", 4.445, 50.806, 110, 1.8, 60),  # Rouge-Cloître
        Blob("lake", 4.376, 50.810, 100, 2.0, 150),  # Bois de la Cambre lake
        Blob("lake", 4.431, 50.831, 90, 2.2, 40),  # Mellaerts ponds
    ),
    forest_share=0.08,
    needle_share=0.08,
    arable_share=0.45,
    parcel_m=(220, 120),
    block_m=95,
    urban_floor=0.30,
    growth=0.2,
    clearcut=0.01,
)

AT_INNSBRUCK = Recipe(
    towns=(
        _town(11.3933, 47.2683, 2300, 0.95),  # old town, centre
        _town(11.4150, 47.2650, 1500, 0.90),  # Pradl, Reichenau
        _town(11.3950, 47.2560, 1100, 0.90),  # Wilten
        _town(11.3750, 47.2740, 1000, 0.75),  # Hötting
        _town(11.4250, 47.2800, 900, 0.60),  # Mühlau, Arzl
        _town(11.4100, 47.2320, 600, 0.50),  # Igls
        _town(11.3900, 47.2400, 350, 0.40),  # Vill
        _town(11.3300, 47.2700, 500, 0.40),  # Kranebitten
        _town(11.3950, 47.2870, 300, 0.40),  # Hungerburg
        _town(11.4550, 47.2850, 700, 0.70),  # Rum
        _town(11.3300, 47.2580, 700, 0.70),  # Völs
        _town(11.3650, 47.2350, 450, 0.40),  # Natters
    ),
    rivers=(
        Line(
            (
                (11.280, 47.2570),
                (11.330, 47.2620),
                (11.370, 47.2680),
                (11.393, 47.2710),
                (11.410, 47.2720),
                (11.440, 47.2760),
                (11.470, 47.2800),
            ),
            width_m=95,
            meander_m=50,
            turbidity=0.45,
        ),  # Inn
        Line(
            ((11.385, 47.195), (11.392, 47.220), (11.397, 47.238), (11.405, 47.255), (11.412, 47.270)),
            width_m=22,
            meander_m=40,
            turbidity=0.6,
            riparian=0.6,
        ),  # Sill
    ),
    roads=(
        Line(
            ((11.280, 47.252), (11.330, 47.255), (11.380, 47.252), (11.420, 47.258), (11.470, 47.268)),
            width_m=30,
        ),  # A12 motorway
        Line(((11.398, 47.256), (11.402, 47.235), (11.405, 47.210), (11.400, 47.185)), width_m=28),  # A13
        Line(((11.393, 47.268), (11.410, 47.240), (11.412, 47.228)), width_m=12),  # to Igls
    ),
    blobs=(
        Blob("lake", 11.430, 47.245, 90),  # Lanser See
        Blob("lake", 11.438, 47.2715, 130, 2.0, 80),  # Baggersee
        Blob("park", 11.403, 47.2660, 220),  # Hofgarten
        Blob("quarry", 11.310, 47.2880, 260),  # scree below Martinswand
    ),
    runways=(Runway(11.3440, 47.2600, 2000, 45, 80),),
    forest_share=0.55,
    needle_share=0.82,
    arable_share=0.18,
    shrub_share=0.03,
    parcel_m=(200, 110),
    block_m=85,
    mountains=True,
    growth=0.15,
    clearcut=0.025,
    tags={
        "valley_path": (
            (11.280, 47.2570),
            (11.330, 47.2620),
            (11.370, 47.2680),
            (11.393, 47.2710),
            (11.410, 47.2720),
            (11.440, 47.2760),
            (11.470, 47.2800),
        )
    },
)

PT_TOMAR = Recipe(
    towns=(
        _town(-8.4125, 39.6027, 1300, 0.85),  # Tomar
        _town(-8.4300, 39.5880, 450, 0.75),  # industrial estate
        _town(-8.3700, 39.6300, 320, 0.40),  # Carregueiros
        _town(-8.4000, 39.5620, 350, 0.40),  # Asseiceira
        _town(-8.3800, 39.5780, 300, 0.40),  # Madalena
        _town(-8.3500, 39.6000, 260, 0.35),  # Serra
        _town(-8.4300, 39.6450, 300, 0.35),
    ),
    rivers=(
        Line(
            ((-8.445, 39.665), (-8.425, 39.630), (-8.413, 39.605), (-8.402, 39.580), (-8.390, 39.550)),
            width_m=16,
            meander_m=60,
            turbidity=0.35,
            riparian=0.9,
        ),  # Nabão
        Line(
            (
                (-8.350, 39.545),
                (-8.345, 39.570),
                (-8.355, 39.595),
                (-8.342, 39.615),
                (-8.348, 39.642),
                (-8.336, 39.668),
            ),
            width_m=320,
            meander_m=180,
            turbidity=0.08,
        ),  # Castelo do Bode arm
    ),
    roads=(
        Line(
            ((-8.470, 39.580), (-8.430, 39.592), (-8.412, 39.603), (-8.380, 39.612), (-8.330, 39.630)),
            width_m=22,
        ),  # IC9
        Line(((-8.412, 39.603), (-8.420, 39.630), (-8.430, 39.665)), width_m=12),
        Line(((-8.412, 39.603), (-8.400, 39.570), (-8.392, 39.545)), width_m=12),
    ),
    blobs=(
        Blob("evergreen_forest", -8.360, 39.650, 1300, 1.5, 30),  # eucalyptus plantations
        Blob("evergreen_forest", -8.440, 39.560, 1000),
        Blob("needle_forest", -8.350, 39.570, 900),  # maritime pine
        Blob("burnt", -8.370, 39.640, 650, 1.6, 60),  # burnt in 2017
        Blob("farmland", -8.405, 39.585, 800, 2.0, 20),  # Nabão valley fields
        Blob("quarry", -8.445, 39.615, 180),
    ),
    forest_share=0.48,
    needle_share=0.35,
    evergreen_share=0.50,
    arable_share=0.40,
    shrub_share=0.25,
    bare_share=0.02,
    parcel_m=(170, 100),
    block_m=75,
    dry_summer=True,
    growth=0.15,
    clearcut=0.05,
)

#: Recipe per (NUTS id, window name); windows of one region may differ (LU000 city vs west).
RECIPES: dict[tuple[str, str], Recipe] = {
    ("LU000", "city"): LU_CITY,
    ("LU000", "west"): LU_WEST,
    ("BE100", "all"): BE_BRUSSELS,
    ("AT332", "all"): AT_INNSBRUCK,
    ("PT16I", "tomar"): PT_TOMAR,
}


def recipe_for(nuts_id: str, window: str) -> Recipe:
    """The recipe of a simulated window; an unknown window gets a plain rural recipe."""
    return RECIPES.get((nuts_id, window), RECIPES.get((nuts_id, "city"), Recipe()))
