"""Route templates match URL paths the way the Functions host (ASP.NET Core routing) does."""

import pytest

from devhost.http.routes import RouteTemplate, RouteTemplateError


def match(template: str, path: str) -> dict[str, str] | None:
    return RouteTemplate(template).match(path)


class TestLiteralsAndParameters:
    def test_literal_segments_match_case_insensitively(self) -> None:
        assert match("orders/list", "ORDERS/List") == {}
        assert match("orders/list", "orders/other") is None

    def test_a_parameter_captures_one_decoded_segment_as_a_string(self) -> None:
        assert match("orchestrators/{functionName}", "orchestrators/hello%20world") == {
            "functionName": "hello world"
        }

    def test_parameter_values_keep_their_case(self) -> None:
        assert match("users/{name}", "USERS/Alice") == {"name": "Alice"}

    def test_extra_or_missing_segments_do_not_match(self) -> None:
        assert match("a/{b}", "a/x/y") is None
        assert match("a/{b}", "a") is None
        assert match("a/{b}", "a/") is None

    def test_a_trailing_slash_is_ignored(self) -> None:
        assert match("hello", "hello/") == {}

    def test_an_empty_template_matches_only_the_root(self) -> None:
        assert match("", "") == {}
        assert match("", "x") is None

    def test_literal_braces_are_written_doubled(self) -> None:
        assert match("{{x}}/{y}", "{x}/1") == {"y": "1"}


class TestOptionalDefaultAndCatchAll:
    def test_an_optional_parameter_may_be_absent(self) -> None:
        assert match("orders/{id?}", "orders") == {}
        assert match("orders/{id?}", "orders/7") == {"id": "7"}

    def test_a_default_value_fills_a_missing_segment(self) -> None:
        assert match("page/{n=1}", "page") == {"n": "1"}
        assert match("page/{n=1}", "page/3") == {"n": "3"}

    def test_a_catch_all_takes_the_rest_of_the_path(self) -> None:
        assert match("files/{*path}", "files/a/b%2Fc/d.txt") == {"path": "a/b/c/d.txt"}
        assert match("files/{**path}", "files/x/y") == {"path": "x/y"}

    def test_a_catch_all_may_be_empty(self) -> None:
        assert match("files/{*path}", "files") == {}

    def test_a_complex_segment_splits_on_its_last_literal(self) -> None:
        assert match("f/{name}.{ext}", "f/archive.tar.gz") == {"name": "archive.tar", "ext": "gz"}
        assert match("f/{name}.{ext?}", "f/readme") == {"name": "readme"}


class TestConstraints:
    @pytest.mark.parametrize(
        ("template", "good", "bad"),
        [
            ("{v:int}", ["0", "-12", "2147483647"], ["x", "1.5", "2147483648"]),
            ("{v:long}", ["9223372036854775807"], ["9223372036854775808", "a"]),
            ("{v:alpha}", ["abcXYZ"], ["abc1", "a-b"]),
            (
                "{v:guid}",
                [
                    "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
                    "3F2504E04F8911D39A0C0305E82C3301",
                    "{3f2504e0-4f89-11d3-9a0c-0305e82c3301}",
                ],
                ["3f2504e0-4f89-11d3-9a0c", "not-a-guid"],
            ),
            ("{v:bool}", ["true", "False"], ["yes", "1"]),
            ("{v:double}", ["1.5", "-2", "1e3"], ["abc"]),
            ("{v:decimal}", ["1.5", "-2"], ["1e3"]),
            ("{v:datetime}", ["2024-01-31", "2024-01-31T10:00:00"], ["yesterday"]),
            ("{v:minlength(3)}", ["abc"], ["ab"]),
            ("{v:maxlength(3)}", ["abc"], ["abcd"]),
            ("{v:length(2)}", ["ab"], ["a", "abc"]),
            ("{v:length(1,2)}", ["a", "ab"], ["abc"]),
            ("{v:min(10)}", ["10", "11"], ["9", "x"]),
            ("{v:max(10)}", ["10", "-5"], ["11"]),
            ("{v:range(1,3)}", ["1", "3"], ["0", "4"]),
            (r"{v:regex(^\d{{3}}$)}", ["123"], ["1234", "abc"]),
            ("{v:int:min(5)}", ["5"], ["4", "x"]),
        ],
    )
    def test_constraint(self, template: str, good: list[str], bad: list[str]) -> None:
        route = RouteTemplate(template)
        for value in good:
            assert route.match(value) is not None, value
        for value in bad:
            assert route.match(value) is None, value

    def test_regex_arguments_may_contain_colons_and_commas(self) -> None:
        assert match("{v:regex(^a:b,c$)}", "a:b,c") == {"v": "a:b,c"}

    def test_constraints_apply_to_defaults_only_when_present(self) -> None:
        assert match("x/{id:int?}", "x") == {}
        assert match("x/{id:int?}", "x/abc") is None


class TestPrecedence:
    def test_more_specific_routes_sort_first(self) -> None:
        templates = ["{*all}", "items/{name}", "items/{id:int}", "items/new", "items/{a}.{b}"]
        ordered = sorted((RouteTemplate(t) for t in templates), key=lambda r: r.precedence)
        assert [r.text for r in ordered] == [
            "items/new",
            "items/{id:int}",
            "items/{a}.{b}",
            "items/{name}",
            "{*all}",
        ]


class TestInvalidTemplates:
    @pytest.mark.parametrize(
        "template",
        [
            "a/{x:nonsense}",
            "a/{*rest}/b",
            "a/{x",
            "a/x}",
            "a/{x}{y}",
            "a/{x}/{X}",
            "a//b",
            "a?b=1",
            "a/{x:min(abc)}",
            "a/{}",
        ],
    )
    def test_is_rejected(self, template: str) -> None:
        with pytest.raises(RouteTemplateError):
            RouteTemplate(template)
