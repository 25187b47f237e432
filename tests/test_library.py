"""Searching the exercise library, own exercises, templates and the safety text."""

from server.schemas.common import EQUIPMENT, KINDS, REGIONS

OWN_EXERCISE = {
    "name": "Zebra crawl",
    "regions": ["core"],
    "kind": "strength",
    "level": 2,
    "equipment": ["mat"],
    "steps": ["Kneel on all fours.", "Crawl forward slowly."],
    "dose": {"sets": 2, "reps": 8, "rest_seconds": 30},
}


def test_filters_narrow_the_library(make):
    therapist = make.therapist()
    everything = therapist.get("/api/exercises").get_json()
    assert len(everything) > 10
    for region in REGIONS:
        found = therapist.get(f"/api/exercises?region={region}").get_json()
        assert found and all(region in e["regions"] for e in found), region
    for kind in KINDS:
        found = therapist.get(f"/api/exercises?kind={kind}").get_json()
        assert found and all(e["kind"] == kind for e in found), kind
    for equipment in EQUIPMENT:
        found = therapist.get(f"/api/exercises?equipment={equipment}").get_json()
        assert all(equipment in e["equipment"] for e in found), equipment
    level_one = therapist.get("/api/exercises?level=1&region=hips&kind=stretch").get_json()
    assert all(e["level"] == 1 and "hips" in e["regions"] and e["kind"] == "stretch" for e in level_one)


def test_free_text_puts_name_matches_first(make):
    therapist = make.therapist()
    everything = therapist.get("/api/exercises").get_json()
    target = everything[len(everything) // 2]
    found = therapist.get("/api/exercises", query_string={"q": target["name"].upper()}).get_json()
    assert found[0]["id"] == target["id"]
    word = target["steps"][0].split()[-1].strip(".,").lower()
    by_step = therapist.get("/api/exercises", query_string={"q": word}).get_json()
    assert target["id"] in [e["id"] for e in by_step]
    starts = [e for e in by_step if e["name"].lower().startswith(word)]
    assert by_step[: len(starts)] == starts or not starts


def test_like_wildcards_in_queries_are_literal(make):
    therapist = make.therapist()
    assert therapist.get("/api/exercises?q=%25").get_json() == []
    assert therapist.get("/api/exercises?q=_").get_json() == []


def test_bad_filters_are_422(make):
    therapist = make.therapist()
    for query in ("region=knees", "kind=yoga", "level=4", "level=one", "level=1.5", "equipment=barbell"):
        response = therapist.get(f"/api/exercises?{query}")
        assert response.status_code == 422, query
        assert response.mimetype == "application/problem+json"
    # Unknown query parameters (cache busters, tracking tags) are ignored, as on most of the web.
    assert therapist.get("/api/exercises?_=123").status_code == 200


def test_exercise_detail_has_everything_a_client_needs(make):
    therapist = make.therapist()
    first = therapist.get("/api/exercises").get_json()[0]
    detail = therapist.get(f"/api/exercises/{first['id']}").get_json()
    assert detail["steps"] and detail["cues"] and detail["cautions"]
    assert detail["dose"]["sets"] >= 1
    assert (detail["dose"]["reps"] is None) != (detail["dose"]["hold_seconds"] is None)
    assert detail["illustration_url"].startswith("/illustrations/")
    assert therapist.get("/api/exercises/999999").status_code == 404


def test_own_exercises_are_visible_to_their_author_alone(make):
    author = make.therapist()
    created = author.post("/api/exercises", json=OWN_EXERCISE)
    assert created.status_code == 201
    exercise = created.get_json()
    assert exercise["own"] is True and exercise["illustration_url"] is None
    assert exercise["dose"] == {"sets": 2, "reps": 8, "hold_seconds": None, "sides": 1, "rest_seconds": 30}
    assert [e["id"] for e in author.get("/api/exercises?q=zebra").get_json()] == [exercise["id"]]
    other = make.therapist()
    assert other.get("/api/exercises?q=zebra").get_json() == []
    assert other.get(f"/api/exercises/{exercise['id']}").status_code == 404


def test_own_exercise_input_is_validated(make):
    therapist = make.therapist()
    bad = [
        {**OWN_EXERCISE, "dose": {"sets": 2, "reps": 8, "hold_seconds": 30}},
        {**OWN_EXERCISE, "dose": {"sets": 2}},
        {**OWN_EXERCISE, "regions": []},
        {**OWN_EXERCISE, "regions": ["knees"]},
        {**OWN_EXERCISE, "kind": "yoga"},
        {**OWN_EXERCISE, "steps": []},
        {**OWN_EXERCISE, "level": True},
        {**OWN_EXERCISE, "dose": {"sets": "2", "reps": 8}},
        {**OWN_EXERCISE, "owner_id": 1},
    ]
    for body in bad:
        response = therapist.post("/api/exercises", json=body)
        assert response.status_code == 422, body
    assert therapist.get("/api/exercises?q=zebra").get_json() == []


def test_templates_list_library_ones_with_their_details(make):
    therapist = make.therapist()
    templates = therapist.get("/api/templates").get_json()
    assert templates
    for template in templates:
        assert template["library"] is True and template["is_template"] is True
        assert template["items"] and template["estimated_minutes"] >= 1
        assert template["purpose"] and template["suits"] and template["frequency"]


def test_safety_text_is_public(client):
    response = client.get("/api/safety")
    assert response.status_code == 200
    safety = response.get_json()
    assert safety["title"] and safety["clearance_needed"] and safety["stop_and_seek_care"]
    assert safety["normal_soreness"] and safety["report_to_therapist"]
