"""``hole("name")``: the template marks where a page prints a value that belongs to the person or request.

Why: the page cache (``page_cache.py``) renders the form once per *shape* and afterwards only fills in
the person's values. It must know exactly where those are printed, and it must never put one person's
value on another person's page, whatever a marketer's template does. So

- the template says where: ``{{ hole("masked_email") }}`` prints the value exactly as
  ``{{ masked_email }}`` would on a full render (every page can use it), and a placeholder while the
  cache makes a skeleton;
- while a skeleton is made, the values themselves are ``Sentinel`` objects that hold nobody's data and
  refuse every use but two: ``hole()``, and the test for being there (``{% if masked_email %}``,
  ``is defined``, ``is none``), which answers the same for everybody of a shape (shapes differ by which
  values are empty). Printing one outside a hole, comparing, slicing, filtering or formatting it, or
  testing its type, raises ``Misuse``: the cache then renders that shape in full.

A skeleton is therefore exact from its first render, and can hold nothing but the template's own text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from jinja2 import Environment, pass_context
from jinja2.runtime import Context
from jinja2.utils import missing

#: Jinja tests that answer the same for a sentinel as for every non-empty value of a shape.
SHAPE_TESTS = frozenset({"defined", "undefined", "none"})


class Misuse(BaseException):
    """A sentinel or placeholder was used other than through ``hole()``: this page has no exact skeleton.

    A ``BaseException`` (like ``GeneratorExit``) on purpose: Jinja's filters and tests catch ``Exception``
    (``int`` answers 0, ``is sequence`` answers False), and a misuse caught there would quietly give the
    skeleton a branch that a real value might not take. Only the page cache catches it.
    """

    def __init__(self, name: str, use: str, *, through_hole: bool) -> None:
        how = f"prints hole({name!r}) changed" if through_hole else f"uses {name} other than through hole()"
        super().__init__(f"it {how} ({use})")
        self.name = name


class _Refusing:
    """Refuses what Python and Jinja can do with a value; subclasses allow what is safe for them."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __bool__(self) -> bool:
        return True  # only non-empty values become sentinels: "is it there?" is the shape's answer


def _refuse(use: str) -> Callable[..., NoReturn]:
    def refuse(self: _Refusing, *args: Any, **kwargs: Any) -> NoReturn:
        raise Misuse(self._name, use, through_hole=isinstance(self, Placeholder))

    refuse.__name__ = use
    return refuse


#: What a sentinel or placeholder refuses, by the template code that would need it.
REFUSED = (
    # printing and formatting: {{ x }}, x | upper, "%s" % x, x ~ y, x | pprint, x.upper()
    *("__str__", "__repr__", "__format__", "__html__", "__getattr__"),
    # comparing and hashing: x == "1", x in [...], a dict key
    *("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__"),
    # taking apart: x[:3], x | length, x | first, x | reverse, "a" in x
    *("__len__", "__iter__", "__reversed__", "__contains__", "__getitem__"),
    # arithmetic and numbers: x * 2, x | int, x | round, x is odd
    *("__add__", "__radd__", "__mul__", "__rmul__", "__mod__", "__rmod__"),
    *("__int__", "__float__", "__index__", "__round__"),
)
for _method in REFUSED:
    setattr(_Refusing, _method, _refuse(_method))


class Sentinel(_Refusing):
    """Stands for a person's value while a skeleton is made; ``hole()`` turns it into its placeholder."""

    __slots__ = ("placeholder",)

    def __init__(self, name: str, mark: str) -> None:
        super().__init__(name)
        self.placeholder = Placeholder(name, mark)


class Placeholder(_Refusing):
    """What ``hole()`` prints while a skeleton is made: ``mark``, where the page cache cuts the page.

    Only printing is allowed (``{{ hole(…) }}``, in ``_("…", name=hole(…))``, after ``~``): that is
    where a full render prints ``escape(value)``, which the cache puts in its place.
    """

    __slots__ = ("_mark",)

    def __init__(self, name: str, mark: str) -> None:
        super().__init__(name)
        self._mark = mark

    def __html__(self) -> str:
        return self._mark


@pass_context
def hole(context: Context, name: str) -> Any:
    """The page's value ``name``, printed as ``{{ name }}`` prints it; its placeholder while a skeleton is
    made (then the value is a ``Sentinel``)."""
    value = context.resolve_or_missing(name)
    if value is missing:
        return context.environment.undefined(name=name)
    if type(value) is Sentinel:
        return value.placeholder
    return value


def _guarded(name: str, test: Callable[..., bool]) -> Callable[..., bool]:
    def guarded_test(value: Any, *args: Any, **kwargs: Any) -> bool:
        for argument in (value, *args, *kwargs.values()):
            if isinstance(argument, _Refusing):
                raise Misuse(argument._name, f"is {name}", through_hole=isinstance(argument, Placeholder))
        return test(value, *args, **kwargs)

    return guarded_test


def install(environment: Environment) -> None:
    """Give templates ``hole()``, and make Jinja's tests refuse sentinels: ``is string`` would say False
    where the real value says True, and nothing else would notice."""
    environment.globals["hole"] = hole
    for name, test in list(environment.tests.items()):
        if name not in SHAPE_TESTS and not hasattr(test, "jinja_pass_arg"):
            environment.tests[name] = _guarded(name, test)
