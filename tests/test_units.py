"""Unit strings in configs (cdsolve.workflow.units).

Oracles: a hand-written table of spellings and their SI values (each value worked out by hand from the
SI definitions), and pint (an independent, widely used unit library; skipped when absent) on the same
table and on seeded random compound units. Tolerance rtol = 1e-12 throughout: the parser combines
numbers and prefixes exactly and rounds once (pi and deg add one or two more roundings), and pint works
in floating point with a few roundings, so the true discrepancy is a few 1e-16; 1e-12 leaves room for
that while any misread prefix or exponent (a factor >= 10) or a wrong pi power fails by many orders.
"""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cdsolve.workflow import units
from cdsolve.workflow.config import ConfigError, parse_quantity, scene_from_config
from cdsolve.workflow.units import UnitError, parse, to_si

PI = math.pi
RTOL = 1e-12  # see the module docstring

#: (spelling, SI value worked out by hand, dimension)
TABLE = [
    ("1064 nm", 1064e-9, "length"),
    ("1.064 um", 1.064e-6, "length"),
    ("1.064 µm", 1.064e-6, "length"),  # micro sign U+00B5
    ("1.064 μm", 1.064e-6, "length"),  # Greek mu U+03BC
    ("1.064 micron", 1.064e-6, "length"),
    ("5 Å", 5e-10, "length"),  # U+00C5
    ("5 \u212b", 5e-10, "length"),  # ANGSTROM SIGN
    ("5 angstrom", 5e-10, "length"),
    ("2.5 cm", 0.025, "length"),
    ("3 km", 3000.0, "length"),
    ("-50 nm", -50e-9, "length"),
    ("0.5um", 0.5e-6, "length"),
    ("1e-3 mm", 1e-6, "length"),
    ("2 dam", 20.0, "length"),
    ("300 mW", 0.3, "power"),
    ("2 W", 2.0, "power"),
    ("1.5 kW", 1500.0, "power"),
    ("1.3 mW/um^2", 1.3e9, "intensity"),
    ("1.3 mW / um^2", 1.3e9, "intensity"),
    ("mW / um^2", 1e9, "intensity"),
    ("1 W/cm^2", 1e4, "intensity"),
    ("1 mW um**-2", 1e9, "intensity"),
    ("2200 kg/m^3", 2200.0, "density"),
    ("2.2 g/cm^3", 2200.0, "density"),
    ("kg m^-3", 1.0, "density"),
    ("1850 kg m^-3", 1850.0, "density"),
    ("2 kg m**-3", 2.0, "density"),
    ("1850 kg*m^(-3)", 1850.0, "density"),
    ("3 fg", 3e-18, "mass"),
    ("1 kg", 1.0, "mass"),
    ("2 ug", 2e-9, "mass"),
    ("0.25 pi", PI / 4, "angle"),
    ("pi", PI, "angle"),
    ("pi/2", PI / 2, "angle"),
    ("2pi", 2 * PI, "angle"),
    ("-pi/4", -PI / 4, "angle"),
    ("1 mpi", 1e-3 * PI, "angle"),
    ("90 deg", PI / 2, "angle"),
    ("45°", PI / 4, "angle"),
    ("1 mdeg", 1e-3 * PI / 180, "angle"),
    ("2 rad", 2.0, "angle"),
    ("3 mrad", 3e-3, "angle"),
    ("300 K", 300.0, "temperature"),
    ("20 mK", 0.02, "temperature"),
    ("100 Hz", 100.0, "rate"),
    ("2 kHz", 2000.0, "rate"),
    ("1/s", 1.0, "rate"),
    ("5 1/s", 5.0, "rate"),
    ("1e3 1/s", 1e3, "rate"),
    ("3 /ms", 3e3, "rate"),
    ("2 s^-1", 2.0, "rate"),
    ("10 us", 1e-5, "time"),
    ("1 mbar", 100.0, "pressure"),
    ("1 hPa", 100.0, "pressure"),
    ("1 pN/um", 1e-6, "stiffness"),
    ("1 MV/m", 1e6, "electric field"),
    ("1 zJ", 1e-21, "energy"),
    ("1 kg/(m s^2)", 1.0, "pressure"),
]


def test_table_is_large_enough():
    assert len(TABLE) >= 40


@pytest.mark.parametrize("text,value,dim", TABLE, ids=[t for t, _, _ in TABLE])
def test_spelling_gives_its_si_value_and_dimension(text, value, dim):
    q = parse(text)
    assert_allclose(q.value, value, rtol=RTOL, atol=0)  # oracle: the value worked out by hand
    assert q.dimension == dim
    assert_allclose(to_si(text, dim, "k"), value, rtol=RTOL, atol=0)


@pytest.mark.parametrize("text,value,dim", TABLE, ids=[t for t, _, _ in TABLE])
def test_table_agrees_with_pint(text, value, dim):
    """Oracle: pint, an independent unit library (radians and pi are dimensionless there, so only the
    number is compared)."""
    pint = pytest.importorskip("pint")
    ureg = _ureg(pint)
    spelled = text.replace("\u212b", "Å")  # pint knows U+00C5 only
    assert_allclose(ureg.Quantity(spelled).to_base_units().magnitude, parse(text).value, rtol=RTOL, atol=0)


_UREG = []


def _ureg(pint):
    if not _UREG:
        _UREG.append(pint.UnitRegistry())
    return _UREG[0]


def test_random_compound_units_agree_with_pint():
    """Oracle: pint on 300 seeded random spellings ``x p1u1^e1 p2u2^e2 / p3u3^e3``."""
    pint = pytest.importorskip("pint")
    ureg = _ureg(pint)
    rng = np.random.default_rng(7)
    syms = ["m", "g", "s", "K", "A", "rad", "W", "J", "N", "Pa", "V", "C", "Hz"]
    pres = ["", "k", "M", "G", "m", "u", "µ", "μ", "n", "p", "f", "c", "d"]
    for _ in range(300):
        parts = []
        for _ in range(3):
            e = int(rng.choice([-3, -2, -1, 1, 2, 3]))
            parts.append(f"{rng.choice(pres)}{rng.choice(syms)}^{e}")
        x = float(rng.uniform(0.1, 10.0))
        text = f"{x!r} {parts[0]} {parts[1]} / {parts[2]}"
        ours = parse(text).value
        ref = ureg.Quantity(text).to_base_units().magnitude
        assert_allclose(ours, ref, rtol=RTOL, atol=0, err_msg=text)


def test_rational_values_are_correctly_rounded():
    """Oracle: Python's float literal (correctly rounded decimal): exact arithmetic, one rounding."""
    for text, literal in [("1064 nm", 1064e-9), ("75 nm", 75e-9), ("60 nm", 60e-9), ("800 nm", 800e-9),
                          ("1.3 mW/um^2", 1.3e9), ("0.1 fg", 1e-19), ("2261 nm", 2261e-9)]:
        assert parse(text).value == literal, text
    assert parse("90 deg").value == 0.5 * math.pi  # 90/180 is exact: one multiplication by pi


def test_unit_table_has_no_ambiguous_spelling():
    """Oracle: counting. Every prefix + symbol is a new spelling (no prefixed unit shadows another)."""
    table = units._all_units()
    assert len(table) == len(units.UNITS) * (len(units.PREFIXES) + 1) + len(units.UNPREFIXED)


@pytest.mark.parametrize("text,fragment", [
    ("0.5 parsec", "unknown unit 'parsec'"),
    ("100 mw", "did you mean 'MW' or 'mW'"),
    ("1 um2", "number after a unit"),
    ("1 m 2", "number after a unit"),
    ("1 kg/m s", "ambiguous"),
    ("1 m/s/s", "ambiguous"),
    ("1 m^0.5", "exponent must be an integer"),
    ("1 m^", "unexpected end"),
    ("(1 m", "unexpected end"),
    ("1 m)", "unexpected ')'"),
    ("", "empty"),
    ("1 + 2", "unexpected '+'"),
    ("1 % m", "unexpected character"),
    ("1e999 m", "finite"),
    ("1 kmicron", "unknown unit"),
    ("1 nan", "unknown unit"),
])
def test_bad_spellings_are_refused(text, fragment):
    with pytest.raises(UnitError, match="^k: ") as info:
        parse(text, "k")
    assert fragment in str(info.value)
    assert len(str(info.value).splitlines()) == 1


@pytest.mark.parametrize("value,dim,fragment", [
    ("3 nm", "power", 'expected a power (e.g. "300 mW"), got "3 nm" (a length)'),
    ("1064 mW", "length", 'expected a length (e.g. "1064 nm"), got "1064 mW" (a power)'),
    ("0.5 um", "dimensionless", "expected a plain number"),
    ("1.33 nm", "dimensionless", "expected a plain number"),
    ("1 rad", "dimensionless", "expected a plain number"),
    ("pi", "dimensionless", "expected a plain number"),
    ("3 nm/um", "angle", "expected an angle"),
    ("1 rad/s", "rate", "expected a rate"),
    ("1 Hz", "angle", "expected an angle"),
    (True, "length", "expected a length"),
    ([1], "length", "expected a length"),
    (float("nan"), "length", "finite"),
    (float("inf"), None, "finite"),
])
def test_wrong_dimension_or_type_is_refused(value, dim, fragment):
    with pytest.raises(UnitError) as info:
        to_si(value, dim, "k")
    assert str(info.value).startswith("k: ")
    assert fragment in str(info.value)


def test_numbers_and_plain_number_strings():
    """A number is SI whatever the key; a plain-number string is accepted by every key."""
    assert to_si(5, "length") == 5.0
    assert to_si("1.45", "dimensionless") == 1.45
    assert to_si(" -2e-3 ", "dimensionless") == -2e-3
    assert to_si("1e-6", "length") == 1e-6
    assert to_si("3 kg", None) == 3.0  # None: any dimension (used by cdsolve sweep)
    with pytest.raises(ValueError, match="dimension must be one of"):
        to_si(1.0, "lenght")


def test_parse_quantity_keeps_its_contract():
    """config.parse_quantity is units.to_si (ValueError subclass, kind names, None = any)."""
    assert parse_quantity("1064 nm", "length") == 1064e-9
    assert parse_quantity(5, None) == 5.0
    with pytest.raises(ValueError, match="tweezers.power: expected a power"):
        parse_quantity("3 nm", "power", "tweezers.power")


def test_wrong_dimension_in_a_file_is_one_line_naming_file_key_and_dimension(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('wavelength = "1064 nm"\n[particle]\nradius = "50 nm"\nindex = 1.45\n[geometry]\n'
                    'positions = [[0, 0, 0]]\n[tweezers]\npower = "3 nm"\nwaist = "1 um"\n')
    with pytest.raises(ConfigError) as info:
        scene_from_config(path)
    assert str(info.value) == f'{path}: tweezers.power: expected a power (e.g. "300 mW"), got "3 nm" (a length)'


def test_units_reference_lists_every_unit_and_dimension():
    text = units.units_reference_markdown()
    for sym in list(units.UNITS) + list(units.UNPREFIXED):
        assert f"`{sym}`" in text
    for d in units.DIMENSIONS.values():
        assert f"| {d.name} | {d.si_unit} | `{d.example}` |" in text
        assert parse(d.example).dimension == d.name  # every example has its own dimension
