import importlib
import io
from types import SimpleNamespace

import pytest
from django.db import connection
from openpyxl import Workbook

from core.text import name_grams, name_search_keys
from residents.models import Household, Resident
from residents.registry_io import import_registry
from residents.search import resident_search_q
from residents.services import resident_update
from tests.factories import DwellingFactory, ResidentFactory, make_id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return {
        "zhang": ResidentFactory(name="张三", id_number="11010519491231002X", phone="13812345678"),
        "ouyang": ResidentFactory(name="欧阳娜娜", phone="13900005555"),
        "li": ResidentFactory(name="李四", phone="13700001234"),
        "anna": ResidentFactory(
            name="Anna Schmidt", id_type="passport", id_number="C01X00T47", phone=""
        ),
    }


def find(term):
    return set(Resident.objects.filter(resident_search_q(term)).values_list("name", flat=True))


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("张三", {"张三"}),
        ("张", {"张三"}),
        ("娜娜", {"欧阳娜娜"}),
        ("zhangsan", {"张三"}),
        ("ZhangSan", {"张三"}),
        ("zs", {"张三"}),
        ("oynn", {"欧阳娜娜"}),
        ("ouyang", {"欧阳娜娜"}),
        ("nana", {"欧阳娜娜"}),
        ("5678", {"张三"}),
        ("002x", {"张三"}),
        ("1234", {"李四"}),
        ("11010519491231002X", {"张三"}),
        ("138 1234 5678", {"张三"}),
        ("c01x00t47", {"Anna Schmidt"}),
        ("anna", {"Anna Schmidt"}),
        ("王五", set()),
    ],
)
def test_one_box_finds_by_name_pinyin_initials_and_suffixes(people, term, expected):
    assert find(term) == expected


def test_empty_term_matches_everything(people):
    assert len(find("")) == 4


# --- 1-2 character name fragments: the name's grams (name_grams) -------------------------

NAMES = ["张三", "张三丰", "欧阳娜娜", "李四", "李娜", "娜", "王 五", "Anna 李", "张张", "三张"]


def grams_of(resident):
    return set(resident.name_grams.split()) if resident.name_grams else set()


def assert_grams_filled(residents):
    for resident in residents:
        resident.refresh_from_db()
        assert resident.name_grams == name_search_keys(resident.name).grams, resident.name


def test_name_grams_are_the_1_and_2_character_substrings():
    assert name_grams("欧阳娜娜") == "欧 欧阳 阳 阳娜 娜 娜娜"
    assert name_grams("张张") == "张 张张"
    assert name_grams("娜") == "娜"
    assert name_grams("王 五") == "王 五"  # no gram holds the separator
    assert name_grams("") == ""
    assert name_search_keys("张三") == ("zhangsan", "zs", "张 张三 三")


def test_service_create_and_update_fill_the_grams():
    resident = ResidentFactory(name="欧阳娜娜")
    assert_grams_filled([resident])
    resident_update(resident=resident, name="李四光")
    assert_grams_filled([resident])
    assert grams_of(resident) == {"李", "李四", "四", "四光", "光"}


def test_the_importers_bulk_path_fills_the_grams(world):
    rows = [
        {
            "小区": world.a.estate.name,
            "楼栋": world.a.building.number,
            "室号": "101",
            "姓名": name,
            "证件号码": make_id_number(900 + n),
            "与户主关系": "户主" if n == 0 else "子女",
            "居住状态": "户籍",
        }
        for n, name in enumerate(["欧阳娜娜", "欧阳子轩"])
    ]

    def xlsx():
        book = Workbook()
        sheet = book.active
        headers = list(rows[0])
        sheet.append(headers)
        for row in rows:
            sheet.append([row[h] for h in headers])
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    result = import_registry(user=world.a.cadre, data=xlsx(), dry_run=False)
    assert result.saved and result.created == 2, result.errors
    assert_grams_filled(Resident.objects.all())
    rows[1]["姓名"] = "欧阳子涵"  # the bulk update path
    rows[1]["证件号码"] = make_id_number(901)
    result = import_registry(user=world.a.cadre, data=xlsx(), dry_run=False)
    assert result.saved and result.updated == 1, result.errors
    assert_grams_filled(Resident.objects.all())
    assert find("子涵") == {"欧阳子涵"} and find("子轩") == set()


def test_the_demo_bulk_insert_fills_the_grams(world):
    from buildings.models import Dwelling
    from core.demo import DemoContext
    from residents.demo import ensure_care_tags, seed_registry

    for room in range(102, 130):
        DwellingFactory(building=world.a.building, room=str(room))
    assert Dwelling.objects.filter(estate=world.a.estate).count() > 20
    ctx = DemoContext(verbosity=0)
    seed_registry(ctx, tags=ensure_care_tags(), normal=[world.a.neighbourhood])
    seeded = list(Resident.objects.all())
    assert len(seeded) > 10
    assert_grams_filled(seeded)


@pytest.fixture
def many_names(db):
    return [ResidentFactory(name=name) for name in NAMES]


@pytest.mark.parametrize(
    "term", ["张", "娜", "三", "李", "五", "张三", "娜娜", "阳娜", "张张", "王五", "三张"]
)
def test_a_1_or_2_character_search_finds_what_contains_finds(many_names, term):
    found = set(Resident.objects.filter(resident_search_q(term)).values_list("pk", flat=True))
    expected = set(Resident.objects.filter(name__contains=term).values_list("pk", flat=True))
    assert found == expected
    if term == "王五":  # "王 五": the space is not part of the name's fragments
        assert found == set()


def test_the_fragment_lookup_goes_through_a_relation(many_names):
    households = Household.objects.filter(resident_search_q("娜娜", prefix="members__"))
    assert set(households) == {r.household for r in many_names if "娜娜" in r.name}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index is PostgreSQL's")
def test_a_2_character_search_uses_the_grams_index(many_names):
    matches = Resident.objects.filter(resident_search_q("娜娜")).order_by().values("pk")
    sql, params = matches.query.sql_with_params()
    assert "string_to_array" in sql and "LIKE" not in sql
    with connection.cursor() as cursor:
        # a few rows: make the planner's choice deterministic (no table or btree scan;
        # a bitmap scan remains, which only the GIN index can answer here)
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)  # the ORM's own parameterised SQL
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Bitmap Index Scan on resident_name_grams" in plan, plan


def test_the_migration_fills_the_grams_of_existing_rows(many_names):
    from django.apps import apps

    migration = importlib.import_module("residents.migrations.0004_resident_name_grams")
    Resident.objects.update(name_grams="")
    migration.fill_grams(apps, SimpleNamespace(connection=connection))
    assert_grams_filled(many_names)
