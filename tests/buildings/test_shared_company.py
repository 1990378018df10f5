"""A property company that also serves another neighbourhood is read-only to a cadre;
one whose estates are all the cadre's (or that serves none yet) stays editable."""

from __future__ import annotations

import pytest
from django.urls import reverse

from buildings.models import PropertyCompany
from tests.factories import EstateFactory, PropertyCompanyFactory

pytestmark = pytest.mark.django_db


def change_url(company):
    return reverse("admin:buildings_propertycompany_change", args=[company.pk])


def delete_url(company):
    return reverse("admin:buildings_propertycompany_delete", args=[company.pk])


@pytest.fixture
def shared(world):
    company = PropertyCompanyFactory(name="共用物业")
    EstateFactory(neighbourhood=world.a.neighbourhood, name="甲二村", property_company=company)
    EstateFactory(neighbourhood=world.b.neighbourhood, name="乙二村", property_company=company)
    return company


def _form(company, **changes):
    values = {
        "name": company.name,
        "credit_code": company.credit_code,
        "contact_name": company.contact_name,
        "phone": company.phone,
    }
    values.update(changes)
    return values


def test_a_shared_company_is_read_only_to_a_cadre(world, login, shared):
    client = login(world.a.cadre)
    page = client.get(change_url(shared))
    assert page.status_code == 200  # visible: it serves one of the cadre's estates
    assert page.context["has_change_permission"] is False
    assert 'name="_save"' not in page.content.decode()
    response = client.post(change_url(shared), _form(shared, name="改名物业"))
    assert response.status_code == 403
    assert client.post(delete_url(shared), {"post": "yes"}).status_code == 403
    shared.refresh_from_db()
    assert shared.name == "共用物业"


def test_a_company_of_the_cadres_own_places_stays_editable(world, login):
    client = login(world.a.cadre)
    own = world.a.company
    response = client.post(change_url(own), _form(own, contact_name="王经理"))
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.contact_name == "王经理"
    unassigned = PropertyCompanyFactory(name="新物业")
    response = client.post(change_url(unassigned), _form(unassigned, phone="021-12345678"))
    assert response.status_code == 302
    assert PropertyCompany.objects.get(pk=unassigned.pk).phone == "021-12345678"


def test_the_superuser_still_edits_a_shared_company(login, superuser, shared):
    client = login(superuser)
    response = client.post(change_url(shared), _form(shared, name="改名物业"))
    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.name == "改名物业"


def test_another_neighbourhoods_company_is_still_a_404(world, login):
    client = login(world.b.cadre)
    assert client.get(change_url(world.a.company)).status_code == 404
