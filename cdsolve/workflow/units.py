"""Quantities written with units in config files: ``"1064 nm"`` -> ``1.064e-06`` (SI), dimension checked.

Grammar (whitespace between tokens is free)::

    quantity := product [ "/" power ]          one "/" per level, its denominator a single power
    product  := power ( ["*"] power )*          juxtaposition multiplies: "kg m^-3", "0.25 pi"
    power    := atom [ ("^" | "**") exponent ]  integer exponents: "um^2", "m**-3", "s^(-1)"
    atom     := number | unit | "(" quantity ")"

A unit is an SI prefix (``Y Z E P T G M k h da d c m u µ μ n p f a z y``; both micro code points,
U+00B5 and U+03BC, and ``u``) followed by a unit symbol (:data:`UNITS`: ``m g s K A rad deg pi Hz
W J N Pa bar V C Å``), or one of the unprefixed names ``micron``, ``angstrom``, ``°``. ``pi`` is a
unit of angle (``"0.25 pi"``, ``"pi/2"``, ``"1 mpi"`` = 1e-3 pi rad) and ``deg`` is pi/180 rad
(``"1 mdeg"`` = 1e-3 deg). ``Hz`` is 1/s (no factor 2 pi). Angle is a dimension of its own here, so
``"1 rad"`` is not a plain number and ``"3 nm/um"`` is not an angle.

Ambiguous or suspicious spellings are errors, never guesses: ``"kg/m s"`` (write ``"kg/(m s)"``),
``"um2"`` or ``"m 2"`` (a number after a unit; write ``"um^2"``), unknown symbols (``"0.5 parsec"``),
a wrong case (``"100 mw"``; the message suggests ``mW``).

Numbers and prefixes are combined exactly (:class:`fractions.Fraction`) and rounded once, so
``"1064 nm"`` gives the same float as the literal ``1064e-9`` and ``"90 deg"`` is ``0.5 * math.pi``.

Why a parser of our own and not pint
------------------------------------
pint (a well-kept library, installed in the development environment and used in
``tests/test_units.py`` as an independent oracle for every spelling in the table) was measured on
the development machine: ``import pint`` 0.44-0.52 s and ``pint.UnitRegistry()`` 0.30 s (0.02 s
with its disk cache, which writes into the user's cache directory), against 1.4 s for the whole
``cdsolve run`` of the bundled example: pint would make every run about 55 % slower. Beyond speed,
pint does not fit the checks a config needs: it treats the radian as dimensionless, so it cannot
tell an angle key (``phases``) from a dimensionless one (``na``, ``index``) -- exactly the silent
misreads this module exists to refuse -- and its registry of about a thousand units turns typos into
valid quantities (``"0.5 parsec"`` is a length, ``"1 u"`` an atomic mass, ``"1 a"`` a year). Configs
need about twenty units; this module imports in a few milliseconds (standard library only) and
parses a value in about 40 us.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

__all__ = [
    "column_header",
    "unit_scale",
    "DIMENSIONS",
    "PREFIXES",
    "UNITS",
    "Dimension",
    "Quantity",
    "UnitError",
    "dimension_name",
    "parse",
    "to_si",
    "units_reference_markdown",
]


class UnitError(ValueError):
    """A quantity that cannot be read, or has the wrong dimension (one line, naming the key)."""


#: base dimensions, in the order of the exponent tuples below
BASE = ("length", "mass", "time", "temperature", "current", "angle")


def _d(L=0, M=0, T=0, K=0, I=0, A=0) -> tuple[int, ...]:
    return (L, M, T, K, I, A)


@dataclass(frozen=True)
class Dimension:
    """A named dimension a config key can have.

    name : str       ``"power"``
    exponents : tuple of 6 int   powers of (length, mass, time, temperature, current, angle)
    si_unit : str    the SI unit values are converted to (``"W"``)
    example : str    a valid spelling for error messages (``"300 mW"``)
    """

    name: str
    exponents: tuple
    si_unit: str
    example: str

    @property
    def article(self) -> str:
        """``"a power"``, ``"an angle"``."""
        return ("an " if self.name[0] in "aeio" else "a ") + self.name


#: every dimension a config key can have; "dimensionless" keys accept plain numbers only
DIMENSIONS: dict[str, Dimension] = {d.name: d for d in (
    Dimension("dimensionless", _d(), "1", "1.45"),
    Dimension("length", _d(L=1), "m", "1064 nm"),
    Dimension("mass", _d(M=1), "kg", "3 fg"),
    Dimension("time", _d(T=1), "s", "10 us"),
    Dimension("rate", _d(T=-1), "1/s", "100 Hz"),
    Dimension("temperature", _d(K=1), "K", "300 K"),
    Dimension("angle", _d(A=1), "rad", "0.25 pi"),
    Dimension("power", _d(L=2, M=1, T=-3), "W", "300 mW"),
    Dimension("intensity", _d(M=1, T=-3), "W/m^2", "1.3 mW/um^2"),
    Dimension("density", _d(L=-3, M=1), "kg/m^3", "2200 kg/m^3"),
    Dimension("energy", _d(L=2, M=1, T=-2), "J", "1 zJ"),
    Dimension("force", _d(L=1, M=1, T=-2), "N", "10 fN"),
    Dimension("stiffness", _d(M=1, T=-2), "N/m", "1 pN/um"),
    Dimension("pressure", _d(L=-1, M=1, T=-2), "Pa", "1 mbar"),
    Dimension("current", _d(I=1), "A", "1 mA"),
    Dimension("charge", _d(T=1, I=1), "C", "1 fC"),
    Dimension("voltage", _d(L=2, M=1, T=-3, I=-1), "V", "1 kV"),
    Dimension("electric field", _d(L=1, M=1, T=-3, I=-1), "V/m", "1 MV/m"),
)}
_BY_EXPONENTS = {d.exponents: d for d in DIMENSIONS.values()}

#: unit symbol -> (exact factor to SI, power of pi in the factor, dimension exponents); all take SI prefixes
UNITS: dict[str, tuple[Fraction, int, tuple]] = {
    "m": (Fraction(1), 0, _d(L=1)),
    "g": (Fraction(1, 1000), 0, _d(M=1)),
    "s": (Fraction(1), 0, _d(T=1)),
    "Hz": (Fraction(1), 0, _d(T=-1)),
    "K": (Fraction(1), 0, _d(K=1)),
    "A": (Fraction(1), 0, _d(I=1)),
    "rad": (Fraction(1), 0, _d(A=1)),
    "deg": (Fraction(1, 180), 1, _d(A=1)),
    "pi": (Fraction(1), 1, _d(A=1)),
    "W": (Fraction(1), 0, _d(L=2, M=1, T=-3)),
    "J": (Fraction(1), 0, _d(L=2, M=1, T=-2)),
    "N": (Fraction(1), 0, _d(L=1, M=1, T=-2)),
    "Pa": (Fraction(1), 0, _d(L=-1, M=1, T=-2)),
    "bar": (Fraction(100000), 0, _d(L=-1, M=1, T=-2)),
    "V": (Fraction(1), 0, _d(L=2, M=1, T=-3, I=-1)),
    "C": (Fraction(1), 0, _d(T=1, I=1)),
    "Å": (Fraction(1, 10**10), 0, _d(L=1)),  # U+00C5
}
#: names that take no prefix
UNPREFIXED: dict[str, tuple[Fraction, int, tuple]] = {
    "micron": (Fraction(1, 10**6), 0, _d(L=1)),
    "angstrom": (Fraction(1, 10**10), 0, _d(L=1)),
    "\u212b": UNITS["Å"],  # ANGSTROM SIGN (NFC-normalizes to U+00C5)
    "°": UNITS["deg"],
}
#: SI prefix -> exact factor
PREFIXES: dict[str, Fraction] = {
    "Y": Fraction(10**24), "Z": Fraction(10**21), "E": Fraction(10**18), "P": Fraction(10**15),
    "T": Fraction(10**12), "G": Fraction(10**9), "M": Fraction(10**6), "k": Fraction(10**3), "h": Fraction(100),
    "da": Fraction(10), "d": Fraction(1, 10), "c": Fraction(1, 100), "m": Fraction(1, 10**3),
    "u": Fraction(1, 10**6), "µ": Fraction(1, 10**6), "μ": Fraction(1, 10**6), "n": Fraction(1, 10**9),
    "p": Fraction(1, 10**12), "f": Fraction(1, 10**15), "a": Fraction(1, 10**18), "z": Fraction(1, 10**21),
    "y": Fraction(1, 10**24),
}


def _all_units() -> dict[str, tuple[Fraction, int, tuple]]:
    """Every accepted spelling (prefix + symbol, or an unprefixed name); refuses any ambiguous one."""
    table = dict(UNPREFIXED)
    for sym, (f, pi, dims) in UNITS.items():
        for pre, pf in {"": Fraction(1), **PREFIXES}.items():
            name = pre + sym
            if name in table:  # e.g. a new symbol "a" would make "Pa" both pascal and peta-a
                raise RuntimeError(f"unit table is ambiguous: {name!r} has two readings")
            table[name] = (f * pf, pi, dims)
    return table


_TABLE = _all_units()
_LOWER: dict[str, list[str]] = {}
for _name in _TABLE:
    _LOWER.setdefault(_name.lower(), []).append(_name)

_NUMBER = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKEN = re.compile(rf"\s*(?:(?P<num>{_NUMBER})|(?P<name>[A-Za-zµμÅ\u212b°]+)|(?P<op>\*\*|[*/^()+-]))")
_PLAIN = re.compile(rf"\s*[-+]?{_NUMBER}\s*")


@dataclass(frozen=True)
class Quantity:
    """A parsed quantity: ``value`` [SI], its dimension ``exponents`` and whether a unit was written."""

    value: float
    exponents: tuple
    has_unit: bool

    @property
    def dimension(self) -> str:
        """Name of the dimension (``"power"``), or the exponents spelled out when it has no name."""
        return dimension_name(self.exponents)


def dimension_name(exponents: tuple) -> str:
    """``(2, 1, -3, 0, 0, 0)`` -> ``"power"``; unnamed ones as ``"length^2 mass time^-3"``."""
    d = _BY_EXPONENTS.get(tuple(exponents))
    if d is not None:
        return d.name
    return " ".join(b if e == 1 else f"{b}^{e}" for b, e in zip(BASE, exponents) if e)


class _Value:
    """Exact intermediate: ``coef * pi**pi_power`` in SI with dimension ``dims``."""

    __slots__ = ("coef", "dims", "pi", "unit")

    def __init__(self, coef: Fraction, pi: int = 0, dims: tuple = _d(), unit: bool = False):
        self.coef, self.pi, self.dims, self.unit = coef, pi, dims, unit

    def mul(self, o: _Value, sign: int = 1) -> _Value:
        coef = self.coef * o.coef if sign > 0 else self.coef / o.coef
        return _Value(coef, self.pi + sign * o.pi, tuple(a + sign * b for a, b in zip(self.dims, o.dims)),
                      self.unit or o.unit)

    def pow(self, n: int) -> _Value:
        return _Value(self.coef**n, self.pi * n, tuple(a * n for a in self.dims), self.unit)


#: longest quantity string read, deepest bracket nesting, largest decimal / integer exponent: beyond these
#: no double-precision value exists anyway, and exact (Fraction) arithmetic would take unbounded time
MAX_TEXT, MAX_DEPTH, MAX_EXPONENT = 200, 20, 400


class _Parser:
    def __init__(self, text: str):
        if len(text) > MAX_TEXT:
            raise ValueError(f"longer than {MAX_TEXT} characters")
        self.text = text
        self.depth = 0
        self.tokens: list[tuple[str, str]] = []
        pos, s = 0, text.rstrip()
        while pos < len(s):
            m = _TOKEN.match(s, pos)
            if not m:
                raise ValueError(f"unexpected character {s[pos:].strip()[0]!r}")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ValueError("unexpected end")
        self.i += 1
        return tok

    def parse(self) -> _Value:
        if not self.tokens:
            raise ValueError("empty")
        sign = 1
        if self.peek() in (("op", "-"), ("op", "+")):  # a sign only in front of the whole quantity
            sign = -1 if self.take()[1] == "-" else 1
        v = self.quantity()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()[1]!r}")
        return _Value(sign * v.coef, v.pi, v.dims, v.unit)

    def quantity(self) -> _Value:
        v = self.product()
        if self.peek() == ("op", "/"):
            self.take()
            v = v.mul(self.power(), -1)
            nxt = self.peek()
            if nxt is not None and nxt != ("op", ")"):
                raise ValueError("ambiguous: only a single factor may follow '/' (write e.g. \"kg/(m s)\")")
        return v

    def product(self) -> _Value:
        v = self.power()
        seen_unit = v.unit
        while True:
            nxt = self.peek()
            if nxt is None or nxt in (("op", "/"), ("op", ")")):
                return v
            if nxt == ("op", "*"):
                self.take()
            f = self.power()
            if seen_unit and not f.unit:
                raise ValueError("a number after a unit (write exponents with '^', e.g. \"um^2\")")
            seen_unit = seen_unit or f.unit
            v = v.mul(f)

    def power(self) -> _Value:
        v = self.atom()
        if self.peek() in (("op", "^"), ("op", "**")):
            self.take()
            paren = self.peek() == ("op", "(")
            if paren:
                self.take()
            sign = 1
            if self.peek() in (("op", "-"), ("op", "+")):
                sign = -1 if self.take()[1] == "-" else 1
            kind, tok = self.take()
            if kind != "num" or not tok.isdigit():
                raise ValueError(f"exponent must be an integer, got {tok!r}")
            if int(tok) > MAX_EXPONENT:
                raise ValueError(f"exponent {tok} is beyond {MAX_EXPONENT} (no finite double-precision value)")
            if paren and self.take() != ("op", ")"):
                raise ValueError("missing ')' after the exponent")
            v = v.pow(sign * int(tok))
        return v

    def atom(self) -> _Value:
        kind, tok = self.take()
        if kind == "num":
            mant, _, exp = tok.lower().partition("e")
            if exp and abs(int(exp)) > MAX_EXPONENT:
                raise ValueError(f"{tok!r}: decimal exponent beyond {MAX_EXPONENT} (no finite double-precision value)")
            return _Value(Fraction(tok))
        if kind == "name":
            if tok not in _TABLE:
                hint = _LOWER.get(tok.lower(), [])
                raise KeyError(f"unknown unit {tok!r}" + (f" (did you mean {' or '.join(map(repr, hint))}?)"
                                                          if hint else ""))
            f, pi, dims = _TABLE[tok]
            return _Value(f, pi, dims, unit=True)
        if tok == "(":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise ValueError(f"brackets nested deeper than {MAX_DEPTH}")
            v = self.quantity()
            self.depth -= 1
            if self.take() != ("op", ")"):
                raise ValueError("missing ')'")
            return v
        raise ValueError(f"unexpected {tok!r}")


def _quote(value: Any) -> str:
    if isinstance(value, str):  # one line, whatever the input holds (control characters escaped), at most 80
        text = value if len(value) <= 80 else value[:77] + "..."
        return '"' + "".join(c if c.isprintable() else repr(c)[1:-1] for c in text).replace('"', '\\"') + '"'
    return repr(value)


def parse(text: str, where: str = "value") -> Quantity:
    """Read ``"<number> <unit expression>"`` into a :class:`Quantity` (SI value, dimension exponents).

    Results are cached (a sweep re-reads the same strings at every grid point).

    Examples
    --------
    >>> parse("1.3 mW/um^2").value
    1300000000.0
    >>> parse("kg m^-3").dimension, parse("pi/2").dimension
    ('density', 'angle')
    """
    try:
        return _parse(text)
    except _Problem as e:
        raise UnitError(f"{where}: {e}") from None


class _Problem(Exception):
    """A reading problem, before the key name is put in front."""


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Quantity:
    try:
        v = _Parser(text).parse()
    except KeyError as e:
        raise _Problem(f"{e.args[0]} in {_quote(text)} (units: {', '.join(UNITS)}, "
                       f"micron, angstrom, °; with SI prefixes)") from None
    except ValueError as e:
        raise _Problem(f"cannot read {_quote(text)} as a quantity: {e}") from None
    try:
        value = float(v.coef) * math.pi**v.pi
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise _Problem(f"value must be finite, got {_quote(text)}")
    return Quantity(value, v.dims, v.unit)


def to_si(value: Any, dimension: str | None, where: str = "value") -> float:
    """A config value in SI: a number is SI already; a string carries its unit (``"300 mW"``).

    Parameters
    ----------
    value : int, float or str
        TOML number (taken as SI) or quantity string. Booleans are refused.
    dimension : str or None
        A name in :data:`DIMENSIONS` the value must have; ``"dimensionless"`` accepts a plain number
        only (a number or a string holding one, no unit at all). None: any dimension.
    where : str
        The key, for error messages.

    Raises
    ------
    UnitError
        One line: ``tweezers.power: expected a power (e.g. "300 mW"), got "3 nm" (a length)``.

    Examples
    --------
    >>> to_si("1064 nm", "length")
    1.064e-06
    >>> to_si("1 mdeg", "angle") == 1e-3 * math.pi / 180
    True
    """
    if dimension is not None and dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {', '.join(DIMENSIONS)} or None, got {dimension!r}")
    want = DIMENSIONS.get(dimension)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        ex = f" (e.g. {_quote(want.example)})" if want else ""
        raise UnitError(f"{where}: expected {want.article if want else 'a number or a quantity'}{ex}, "
                        f"got {_quote(value)}")
    if isinstance(value, str):
        if dimension == "dimensionless" and not _PLAIN.fullmatch(value):
            raise UnitError(f"{where}: expected a plain number (dimensionless, no unit), got {_quote(value)}")
        q = parse(value, where)
        if want is not None and q.has_unit and q.exponents != want.exponents:
            got = q.dimension
            got = (DIMENSIONS[got].article if got in DIMENSIONS and got != "dimensionless"
                   else got if got == "dimensionless" else f"dimension {got}")
            raise UnitError(f"{where}: expected {want.article} (e.g. {_quote(want.example)}), got {_quote(value)} "
                            f"({got})")
        return q.value
    v = float(value)
    if not math.isfinite(v):
        raise UnitError(f"{where}: value must be finite, got {value!r}")
    return v


def units_reference_markdown() -> str:
    """The units section of ``docs/config.md`` (generated from the tables above)."""
    rows = [f"| `{sym}` | {dimension_name(d)} | {_factor_text(f, pi)} |" for sym, (f, pi, d) in UNITS.items()]
    rows += [f"| `{sym}` ({'U+212B, ' if sym == chr(0x212B) else ''}no prefix) | {dimension_name(d)} | "
             f"{_factor_text(f, pi)} |" for sym, (f, pi, d) in UNPREFIXED.items()]
    dims = [f"| {d.name} | {d.si_unit} | `{d.example}` |" for d in DIMENSIONS.values()]
    return "\n".join([
        "## Units",
        "",
        "A number is SI. A string carries its unit: `\"<number> <unit expression>\"`, e.g. `\"1064 nm\"`,",
        "`\"1.3 mW/um^2\"`, `\"kg m^-3\"`, `\"0.25 pi\"`, `\"pi/2\"`. Units combine by juxtaposition or `*`,",
        "one `/` per level (its denominator a single factor: `\"kg/(m s)\"`, not `\"kg/m s\"`), integer",
        "exponents with `^` or `**` (`\"m^-3\"`, `\"s**(-1)\"`) and parentheses. Every unit symbol takes an",
        f"SI prefix ({', '.join(f'`{p}`' for p in PREFIXES)}; micro as `u`, `µ` U+00B5 or `μ` U+03BC).",
        "Angle is a dimension of its own: `pi` and `deg` are angles (`\"1 mdeg\"` = 1e-3 deg), so an",
        "angle is never a plain number and a plain-number key refuses every unit. `Hz` is 1/s (no 2 pi).",
        "Ambiguous spellings are errors, not guesses (`\"um2\"`, `\"kg/m s\"`, `\"100 mw\"`).",
        "",
        "| unit | dimension | value in SI |",
        "|---|---|---|",
        *rows,
        "",
        "| dimension | SI unit | example |",
        "|---|---|---|",
        *dims,
    ])


def _factor_text(f: Fraction, pi: int) -> str:
    if not pi:
        return f"{float(f):g}"
    return ("pi" if f == 1 else f"pi/{f.denominator}" if f.numerator == 1 else f"{f} pi") + " rad"


#: a data-file column header ``NAME [UNIT]`` (unit optional): trace files, reference tables
_COLUMN = re.compile(r"^\s*(?P<name>[^\[\]]+?)\s*(?:\[(?P<unit>[^\[\]]*)\])?\s*$")


def column_header(text: str) -> tuple[str, str | None] | None:
    """``("x0", "nm")`` from ``"x0 [nm]"``, ``("label", None)`` from ``"label"``; None if it is neither.

    >>> column_header("time [us]"), column_header(" Fz1 [fN] "), column_header("a [b] [c]")
    (('time', 'us'), ('Fz1', 'fN'), None)
    """
    m = _COLUMN.match(text.lstrip("\ufeff"))  # a UTF-8 byte-order mark before the first header is not a name
    return None if m is None else (m["name"], m["unit"])


def unit_scale(unit: str, dimension: str | None, where: str = "value") -> float:
    """SI value of one ``unit`` of the given dimension (``unit_scale("nm", "length") == 1e-9``).

    Raises :class:`UnitError` naming ``where`` and the unit as written (not ``"1 unit"``).
    """
    try:
        return to_si("1 " + unit.strip(), dimension, where)
    except UnitError as e:
        raise UnitError(str(e).replace('"1 ', '"')) from None
