"""Read decoded parameters with Stripe's types and report Stripe's validation errors.

A ``Params`` is one hash of a request (the top level, or ``line_items[0]``):
it checks its keys against an allowed set on creation, then hands out typed
values. Errors name the full parameter path, as Stripe's ``param`` does.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from . import errors
from .forms import FormDict, FormValue
from .known_params import stripe_knows

_INTEGER = re.compile(r"^[+-]?\d+$")
MAX_STRING = 5000
METADATA_KEYS = 50
METADATA_KEY_LENGTH = 40
METADATA_VALUE_LENGTH = 500


class Params:
    """A typed view of one parameter hash.

    ``root`` is the library's ``*Params`` TypedDict for the endpoint; it only
    decides whether an unexpected name is Stripe's (so unsupported here) or
    unknown to Stripe too.
    """

    def __init__(
        self,
        values: FormDict,
        allowed: Collection[str],
        *,
        prefix: str = "",
        root: type | None = None,
    ) -> None:
        self._values = values
        self._prefix = prefix
        self._root = root
        for name in values:
            if name not in allowed:
                raise unexpected(self.path(name), root)

    @property
    def prefix(self) -> str:
        """This hash's own parameter path (``""`` at the top level)."""
        return self._prefix

    def path(self, name: str) -> str:
        return f"{self._prefix}[{name}]" if self._prefix else name

    def has(self, name: str) -> bool:
        return name in self._values

    def raw(self, name: str) -> FormValue | None:
        return self._values.get(name)

    # --- scalars -----------------------------------------------------------

    def string(
        self,
        name: str,
        *,
        required: bool = False,
        max_length: int = MAX_STRING,
        unsettable: bool = False,
    ) -> str | None:
        """A string; ``""`` means "unset", allowed only where Stripe allows it."""
        value = self._values.get(name)
        param = self.path(name)
        if value is None:
            if required:
                raise errors.parameter_missing(param)
            return None
        if not isinstance(value, str):
            raise errors.invalid_value(param, "Invalid string: expected a string, got an object")
        if value == "":
            if unsettable and not required:
                return None
            raise errors.invalid_empty(param)
        if len(value) > max_length:
            raise errors.invalid_value(
                param,
                f"Invalid string: {value[:20]}...; must be at most {max_length} characters",
            )
        return value

    def choice(self, name: str, choices: Sequence[str], *, required: bool = False) -> str | None:
        value = self.string(name, required=required)
        if value is not None and value not in choices:
            raise errors.invalid_choice(self.path(name), choices)
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = False,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        value = self._values.get(name)
        param = self.path(name)
        if value is None:
            if required:
                raise errors.parameter_missing(param)
            return None
        if not isinstance(value, str):
            raise errors.invalid_integer(param, "an object")
        if value == "":
            raise errors.invalid_empty(param)
        if not _INTEGER.match(value):
            raise errors.invalid_integer(param, value)
        number = int(value)
        if minimum is not None and number < minimum:
            raise errors.integer_out_of_range(param, minimum=minimum, maximum=None)
        if maximum is not None and number > maximum:
            raise errors.integer_out_of_range(param, minimum=None, maximum=maximum)
        return number

    def boolean(self, name: str, *, required: bool = False) -> bool | None:
        value = self.string(name, required=required)
        if value is None:
            return None
        if value not in ("true", "false"):
            raise errors.invalid_value(self.path(name), f"Invalid boolean: {value}")
        return value == "true"

    # --- containers ----------------------------------------------------------

    def hash(self, name: str, allowed: Collection[str], *, required: bool = False) -> Params | None:
        """A nested hash; ``name=""`` unsets it (``None``)."""
        value = self._values.get(name)
        param = self.path(name)
        if value is None or value == "":
            if required:
                raise errors.parameter_missing(param)
            return None
        if not isinstance(value, dict):
            raise errors.invalid_value(param, "Invalid object")
        return Params(value, allowed, prefix=param, root=self._root)

    def array(
        self, name: str, *, required: bool = False, max_items: int | None = None
    ) -> list[tuple[str, FormValue]]:
        """The items of an array with their parameter paths (``a[0]``, ``a[1]``...)."""
        value = self._values.get(name)
        param = self.path(name)
        if value is None or value == "":
            if required:
                raise errors.parameter_missing(param)
            return []
        items = _as_list(value, param)
        if max_items is not None and len(items) > max_items:
            raise errors.invalid_value(
                param, f"{param}: you may specify at most {max_items} items, got {len(items)}."
            )
        return [(f"{param}[{index}]", item) for index, item in enumerate(items)]

    def hashes(
        self,
        name: str,
        allowed: Collection[str],
        *,
        required: bool = False,
        max_items: int | None = None,
    ) -> list[Params]:
        result = []
        for path, item in self.array(name, required=required, max_items=max_items):
            if not isinstance(item, dict):
                raise errors.invalid_value(path, "Invalid object")
            result.append(Params(item, allowed, prefix=path, root=self._root))
        return result

    def strings(
        self,
        name: str,
        *,
        choices: Sequence[str] | None = None,
        required: bool = False,
        max_items: int | None = None,
    ) -> list[str]:
        result = []
        for path, item in self.array(name, required=required, max_items=max_items):
            if not isinstance(item, str):
                raise errors.invalid_value(path, "Invalid string: expected a string, got an object")
            if item == "":
                raise errors.invalid_empty(path)
            if choices is not None and item not in choices:
                raise errors.invalid_choice(path, choices)
            result.append(item)
        return result

    def metadata(self, name: str = "metadata") -> dict[str, str]:
        """Stripe metadata: at most 50 keys of 40 characters, values of 500; ``""`` unsets."""
        value = self._values.get(name)
        param = self.path(name)
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise errors.invalid_value(param, "Invalid object")
        result: dict[str, str] = {}
        for key, item in value.items():
            item_param = f"{param}[{key}]"
            if not isinstance(item, str):
                raise errors.invalid_value(item_param, "Invalid string: expected a string")
            if len(key) > METADATA_KEY_LENGTH:
                raise errors.invalid_value(
                    item_param,
                    f"Metadata keys can have up to {METADATA_KEY_LENGTH} characters, but you "
                    f"passed in a key that is {len(key)} characters. Invalid key: {key}",
                )
            if len(item) > METADATA_VALUE_LENGTH:
                raise errors.invalid_value(
                    item_param,
                    f"Metadata values can have up to {METADATA_VALUE_LENGTH} characters, but "
                    f"you passed in a value that is {len(item)} characters. Invalid value: "
                    f"{item[:40]}...",
                )
            if item != "":
                result[key] = item
        if len(result) > METADATA_KEYS:
            raise errors.invalid_value(
                param,
                f"You can have up to {METADATA_KEYS} metadata keys, but you passed in "
                f"{len(result)}.",
            )
        return result

    def expand(self) -> list[str]:
        return self.strings("expand")


def _as_list(value: FormValue, param: str) -> list[FormValue]:
    """Arrays arrive as ``a[]=`` lists or as ``a[0]=``, ``a[1]=`` hashes."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict) and all(key.isdigit() for key in value):
        indexes = sorted(int(key) for key in value)
        if indexes != list(range(len(indexes))):
            raise errors.invalid_value(param, "Invalid array")
        return [value[str(index)] for index in indexes]
    raise errors.invalid_value(param, "Invalid array")


def unexpected(param: str, root: type | None) -> errors.StripeApiError:
    """The error for a parameter the emulator does not read."""
    if stripe_knows(root, param):
        return errors.emulator_unsupported(param)
    return errors.parameter_unknown(param)
