"""An organisation manages itself at /app/organisation/: its administrators create and revoke API
keys, register and revoke client keys, rotate the custodial key and add and remove members; the
other members see the same page read-only, and no one reaches another organisation's keys."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from tests.factories import make_partner, object_event
from tests.integration.test_web_passing_material import controls
from traceability.choices import KeyCustody, MemberRole
from traceability.ledger.signing import b64encode, generate_private_key, public_key_raw, sign_document
from traceability.models import ApiCredential, LedgerEntry, Membership, Organisation, SigningKey

pytestmark = pytest.mark.django_db
PAGE = "/app/organisation/"


def signed_in(organisation: Organisation, username: str, *, role: str = MemberRole.MEMBER) -> Client:
    user = get_user_model().objects.create_user(username, email=f"{username}@example.test", password="unused")
    Membership.objects.create(user=user, organisation=organisation, role=role)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def yard(db):  # type: ignore[no-untyped-def]
    partner = make_partner("north-yard", role="dismantler")
    partner.admin = signed_in(partner.organisation, "yard-admin", role=MemberRole.ADMINISTRATOR)
    partner.clerk = signed_in(partner.organisation, "yard-clerk")
    return partner


@pytest.fixture
def other(db):  # type: ignore[no-untyped-def]
    partner = make_partner("south-melt", role="remelter")
    partner.admin = signed_in(partner.organisation, "melt-admin", role=MemberRole.ADMINISTRATOR)
    return partner


def api(api_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {api_key}")
    return client


def shown_api_key(html: str) -> str:
    found = re.search(r'id="new-api-key" type="text" readonly value="([^"]+)"', html)
    assert found, "the new key is shown"
    return found.group(1)


# --- API keys ------------------------------------------------------------------------------------


def test_an_administrator_creates_an_api_key_that_works_then_revokes_it_and_it_fails(yard):
    # given: an administrator on the organisation page
    assert yard.admin.get(PAGE).status_code == 200

    # when: it creates a key, calls the API with it, and revokes it
    created = yard.admin.post("/app/organisation/api-keys/")
    key = shown_api_key(created.content.decode())
    before = api(key).get("/api/v1/sites")
    credential = ApiCredential.objects.get(client_id=key.split(".")[0])
    revoked = yard.admin.post(f"/app/organisation/api-keys/{credential.pk}/revoke", {"confirm": "yes"})
    after = api(key).get("/api/v1/sites")

    # then: shown once (not on the next page), accepted before, refused after
    assert created.status_code == 201 and created["Cache-Control"] == "no-store"
    assert credential.organisation == yard.organisation
    assert key not in yard.admin.get(PAGE).content.decode()
    assert before.status_code == 200
    assert revoked.status_code == 302
    assert after.status_code in (401, 403) and after.json()["code"] in ("authentication_failed", "not_authenticated")
    # the organisation's other key is untouched
    assert api(yard.api_key).get("/api/v1/sites").status_code == 200


def test_revoking_needs_the_confirmation(yard):
    credential = ApiCredential.objects.get(organisation=yard.organisation)

    refused = yard.admin.post(f"/app/organisation/api-keys/{credential.pk}/revoke")

    assert refused.status_code == 400 and "confirmation_missing" in refused.content.decode()
    assert api(yard.api_key).get("/api/v1/sites").status_code == 200


def test_a_member_who_is_not_an_administrator_sees_the_page_read_only_and_cannot_change_anything(yard):
    credential = ApiCredential.objects.get(organisation=yard.organisation)
    page = yard.clerk.get(PAGE).content.decode()
    keys, members = ApiCredential.objects.count(), Membership.objects.count()

    attempts = [
        yard.clerk.post("/app/organisation/api-keys/"),
        yard.clerk.post(f"/app/organisation/api-keys/{credential.pk}/revoke", {"confirm": "yes"}),
        yard.clerk.post(f"/app/organisation/keys/{yard.client_key.pk}/revoke", {"confirm": "yes"}),
        yard.clerk.post(f"/app/organisation/keys/{yard.custodial_key.pk}/rotate", {"confirm": "yes"}),
        yard.clerk.post("/app/organisation/client-keys/", {"public_key": public_key_raw(generate_private_key()).hex()}),
        yard.clerk.post("/app/organisation/members/", {"identifier": "yard-admin", "role": "administrator"}),
        yard.clerk.post(
            f"/app/organisation/members/{Membership.objects.get(user__username='yard-admin').pk}/remove",
            {"confirm": "yes"},
        ),
    ]

    assert [a.status_code for a in attempts] == [403] * len(attempts)
    assert credential.client_id in page and "<form" not in page.split("</header>")[1]
    assert ApiCredential.objects.count() == keys and Membership.objects.count() == members
    assert api(yard.api_key).get("/api/v1/sites").status_code == 200
    assert SigningKey.objects.filter(organisation=yard.organisation, revoked_at__isnull=False).count() == 0


def test_another_organisations_keys_and_members_are_not_found(yard, other):
    foreign_credential = ApiCredential.objects.get(organisation=other.organisation)
    foreign_member = Membership.objects.get(organisation=other.organisation)

    answers = [
        yard.admin.post(f"/app/organisation/api-keys/{foreign_credential.pk}/revoke", {"confirm": "yes"}),
        yard.admin.post(f"/app/organisation/keys/{other.client_key.pk}/revoke", {"confirm": "yes"}),
        yard.admin.post(f"/app/organisation/keys/{other.custodial_key.pk}/rotate", {"confirm": "yes"}),
        yard.admin.post(f"/app/organisation/members/{foreign_member.pk}/remove", {"confirm": "yes"}),
    ]
    page = yard.admin.get(PAGE).content.decode()

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert api(other.api_key).get("/api/v1/sites").status_code == 200
    assert not SigningKey.objects.filter(organisation=other.organisation, revoked_at__isnull=False).exists()
    assert Membership.objects.filter(pk=foreign_member.pk).exists()
    assert foreign_credential.client_id not in page and other.client_key.key_id not in page
    assert "melt-admin" not in page


def test_the_api_key_routes_answer_only_post(yard):
    credential = ApiCredential.objects.get(organisation=yard.organisation)

    assert yard.admin.get("/app/organisation/api-keys/").status_code == 405
    assert yard.admin.get(f"/app/organisation/api-keys/{credential.pk}/revoke").status_code == 405


# --- signing keys --------------------------------------------------------------------------------


@pytest.mark.parametrize("spelling", ["hex", "base64", "base64url"])
def test_a_registered_client_key_signs_an_event_the_api_accepts(yard, spelling):
    # given: a key pair the partner made itself, its public key registered in the console
    private_key = generate_private_key()
    raw = public_key_raw(private_key)
    text = {
        "hex": raw.hex(),
        "base64": b64encode(raw),
        "base64url": b64encode(raw).replace("+", "-").replace("/", "_"),
    }[spelling]
    registered = yard.admin.post("/app/organisation/client-keys/", {"public_key": f"  {text}\n"})
    key = SigningKey.objects.get(organisation=yard.organisation, public_key=raw)
    document = object_event(7)

    # when: its system signs an event with it
    accepted = api(yard.api_key).post(
        "/api/v1/ledger/entries",
        {"document": document, "signature": b64encode(sign_document(private_key, document)), "keyId": key.key_id},
        format="json",
    )

    # then: registered as a client key in the ledger, and the event is stored under it
    assert registered.status_code == 302
    assert key.custody == KeyCustody.CLIENT and LedgerEntry.objects.filter(seq=key.registered_seq).exists()
    assert accepted.status_code == 201, accepted.json()
    assert accepted.json()["keyId"] == key.key_id


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "required"),
        ("not a key", "public_key_malformed"),
        ("ab" * 31, "public_key_malformed"),
        (b64encode(bytes(16)), "public_key_invalid"),
        ("00" * 33, "public_key_malformed"),
    ],
)
def test_a_malformed_public_key_is_refused_at_its_field_and_nothing_is_registered(yard, text, code):
    keys = SigningKey.objects.count()

    refused = yard.admin.post("/app/organisation/client-keys/", {"public_key": text})

    assert refused.status_code == 422
    assert 'id="id_public_key_error"' in refused.content.decode()
    assert SigningKey.objects.count() == keys
    if code != "required":
        assert refused.context["client_key_form"].errors.as_data()["public_key"][0].code == code


def test_a_key_already_registered_is_refused(yard):
    refused = yard.admin.post("/app/organisation/client-keys/", {"public_key": bytes(yard.client_key.public_key).hex()})

    assert refused.status_code == 409 and "already registered" in refused.content.decode()


def test_a_revoked_client_key_signs_nothing_more(yard):
    document = object_event(8)
    body = {
        "document": document,
        "signature": b64encode(sign_document(yard.private_key, document)),
        "keyId": yard.client_key.key_id,
    }

    revoked = yard.admin.post(f"/app/organisation/keys/{yard.client_key.pk}/revoke", {"confirm": "yes"})
    refused = api(yard.api_key).post("/api/v1/ledger/entries", body, format="json")

    assert revoked.status_code == 302
    assert refused.status_code in (400, 403) and refused.json()["code"]
    assert SigningKey.objects.get(pk=yard.client_key.pk).revoked_seq is not None


def test_the_custodial_key_is_rotated_not_revoked(yard):
    revoking = yard.admin.post(f"/app/organisation/keys/{yard.custodial_key.pk}/revoke", {"confirm": "yes"})
    rotated = yard.admin.post(f"/app/organisation/keys/{yard.custodial_key.pk}/rotate", {"confirm": "yes"})
    custodial = SigningKey.objects.filter(organisation=yard.organisation, custody=KeyCustody.PLATFORM)

    assert revoking.status_code == 409 and "key_custodial" in revoking.content.decode()
    assert rotated.status_code == 302
    assert (
        custodial.count() == 2 and custodial.filter(revoked_at__isnull=True).exclude(pk=yard.custodial_key.pk).exists()
    )
    assert yard.admin.post(f"/app/organisation/keys/{yard.client_key.pk}/rotate", {"confirm": "yes"}).status_code == 409


# --- members -------------------------------------------------------------------------------------


def test_an_administrator_adds_a_user_by_e_mail_and_removes_a_member(yard, other):
    newcomer = get_user_model().objects.create_user("newcomer", email="New.Comer@example.test", password="unused")
    clerk = Membership.objects.get(user__username="yard-clerk")

    added = yard.admin.post("/app/organisation/members/", {"identifier": "new.comer@example.test", "role": "member"})
    taken = yard.admin.post("/app/organisation/members/", {"identifier": "melt-admin", "role": "member"})
    unknown = yard.admin.post("/app/organisation/members/", {"identifier": "nobody", "role": "member"})
    get_user_model().objects.create_superuser("root", "root@example.test", "unused")
    superuser = yard.admin.post("/app/organisation/members/", {"identifier": "root", "role": "member"})
    removed = yard.admin.post(f"/app/organisation/members/{clerk.pk}/remove", {"confirm": "yes"})

    assert added.status_code == 302
    assert Membership.objects.get(user=newcomer).organisation == yard.organisation
    assert (
        taken.status_code == 409
        and Membership.objects.get(user__username="melt-admin").organisation == other.organisation
    )
    assert unknown.status_code == 422 and superuser.status_code == 422
    assert not Membership.objects.filter(user__username="root").exists()
    assert removed.status_code == 302 and not Membership.objects.filter(pk=clerk.pk).exists()
    assert yard.clerk.get(PAGE).status_code == 403  # no organisation any more


def test_the_last_administrator_stays(yard):
    admin = Membership.objects.get(user__username="yard-admin")

    refused = yard.admin.post(f"/app/organisation/members/{admin.pk}/remove", {"confirm": "yes"})

    assert refused.status_code == 409 and "last_administrator" in refused.content.decode()
    assert Membership.objects.filter(pk=admin.pk).exists()


# --- the page ------------------------------------------------------------------------------------


def test_every_control_of_the_page_is_labelled(yard):
    yard.admin.post("/app/organisation/client-keys/", {"public_key": public_key_raw(generate_private_key()).hex()})
    for response in (yard.admin.get(PAGE), yard.admin.post("/app/organisation/api-keys/")):
        found = controls(response.content.decode())

        # the new key's field, the revoke, rotate and remove confirmations, the key and member fields
        assert len(found.controls) >= 8
        assert not [c for c in found.controls if c not in found.labelled]
    assert not controls(yard.clerk.get(PAGE).content.decode()).controls


def test_the_page_is_linked_from_the_navigation_and_its_queries_do_not_grow(yard, django_assert_max_num_queries):
    for n in range(5):
        yard.admin.post("/app/organisation/api-keys/")
        signed_in(yard.organisation, f"extra-{n}")

    with django_assert_max_num_queries(12):
        page = yard.admin.get(PAGE)

    assert 'href="/app/organisation/" aria-current="page"' in page.content.decode()
