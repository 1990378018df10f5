import pytest

from residents.models import Resident
from residents.search import resident_search_q
from tests.factories import ResidentFactory

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
