"""Property-based tests of the user-spec parser: ``atoi`` and ``check_linux_user``."""

import re

from hypothesis import example, given
from hypothesis import strategies as st

from guardrails_ecs_nonrootuser.policy import (
    MAX_ID,
    Rule,
    Settings,
    atoi,
    check_linux_user,
    check_windows_user,
)

# A reference for Go's strconv.Atoi syntax (base 10): an optional sign, then ASCII digits.
GO_ATOI_SYNTAX = re.compile(r"\A[+-]?[0-9]+\Z")
DIGITS = st.text(alphabet="0123456789", min_size=1, max_size=30)
NAMES = st.from_regex(r"\A[a-z_][a-z0-9_-]{0,31}\Z").filter(lambda name: name != "root")
IDS = st.integers(min_value=1, max_value=MAX_ID)


@given(st.text())
@example("")
@example("+")
@example("-")
@example("1_000")
@example(" 1")
@example("\u0661")
@example("0x10")
def test_atoi_accepts_exactly_go_syntax(text: str) -> None:
    assert (atoi(text) is not None) == bool(GO_ATOI_SYNTAX.match(text))


@given(st.sampled_from(["", "+", "-"]), st.integers(0, 10), st.integers(0, 10**15))
def test_atoi_reads_signs_and_leading_zeros(sign: str, zeros: int, number: int) -> None:
    value = atoi(sign + "0" * zeros + str(number))
    assert value == (-number if sign == "-" else number)


@given(st.sampled_from(["", "+", "-"]), st.integers(0, 5000), st.integers(10**20, 10**40))
def test_atoi_is_out_of_range_not_an_error_for_long_digit_strings(
    sign: str, zeros: int, number: int
) -> None:
    value = atoi(sign + "0" * zeros + str(number) * 100)
    assert value is not None
    assert not 0 <= value <= MAX_ID
    assert (value < 0) == (sign == "-")


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(),
        st.binary(),
        st.lists(st.text(), max_size=3),
        st.dictionaries(st.text(), st.text(), max_size=3),
    ),
    st.booleans(),
    st.booleans(),
    st.integers(1, MAX_ID),
)
def test_check_never_raises_and_always_explains(
    value: object, allow_root_group: bool, require_numeric: bool, minimum_uid: int
) -> None:
    settings = Settings(allow_root_group, require_numeric, minimum_uid)
    for finding in (check_linux_user(value, settings), check_windows_user(value)):
        if finding is not None:
            assert finding.reason and finding.fix


@given(DIGITS, st.sampled_from(["", "+", "-"]))
def test_numeric_zero_user_is_always_root(zeros: str, sign: str) -> None:
    finding = check_linux_user(sign + "0" * len(zeros), Settings(allow_root_group=True))
    assert finding is not None and finding.rule is Rule.ROOT_USER


@given(IDS, IDS)
def test_numeric_uid_and_gid_in_range_pass(uid: int, gid: int) -> None:
    assert check_linux_user(f"{uid}:{gid}", Settings()) is None
    assert check_linux_user(uid, Settings()) is None


@given(IDS, st.sampled_from(["0", "00", "+0", "-0", "root", "ROOT", "Root"]))
def test_root_group_fails_unless_allowed(uid: int, group: str) -> None:
    finding = check_linux_user(f"{uid}:{group}", Settings())
    assert finding is not None and finding.rule is Rule.ROOT_GROUP
    assert check_linux_user(f"{uid}:{group}", Settings(allow_root_group=True)) is None


@given(NAMES, st.one_of(st.none(), NAMES, IDS.map(str)))
def test_names_pass_unless_numeric_is_required(name: str, group: str | None) -> None:
    spec = name if group is None else f"{name}:{group}"
    expect_numeric = atoi(name) is not None
    assert check_linux_user(spec, Settings()) is None
    finding = check_linux_user(spec, Settings(require_numeric_user=True))
    assert (finding is None) == expect_numeric


@given(
    st.text(min_size=1).filter(lambda text: any(c.isspace() or not c.isprintable() for c in text))
)
def test_any_whitespace_or_non_printable_character_is_malformed(text: str) -> None:
    finding = check_linux_user(text, Settings())
    assert finding is not None
    assert finding.rule is Rule.MALFORMED_USER


@given(st.text(max_size=20))
def test_empty_user_part_is_missing_or_malformed(group: str) -> None:
    finding = check_linux_user(":" + group, Settings())
    assert finding is not None
    assert finding.rule in (Rule.MISSING_USER, Rule.MALFORMED_USER)


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_json_numbers_decide_like_their_digits(number: int) -> None:
    settings = Settings(minimum_uid=1000)
    as_number = check_linux_user(number, settings)
    as_text = check_linux_user(str(number), settings)
    assert (as_number.rule if as_number else None) is (as_text.rule if as_text else None)
