"""Building, copying, editing and deleting routines."""


def _exercise_ids(therapist, count=3):
    return [e["id"] for e in therapist.get("/api/exercises").get_json()[:count]]


def test_build_a_routine_from_the_library(make):
    therapist = make.therapist()
    first, second, third = _exercise_ids(therapist)
    created = therapist.post(
        "/api/routines",
        json={
            "name": "Hips after Tuesday",
            "items": [
                {"exercise_id": first},
                {"exercise_id": second, "sets": 3, "reps": 12, "note": "Slowly"},
                {"exercise_id": third, "hold_seconds": 45, "sides": 2},
            ],
        },
    )
    assert created.status_code == 201, created.get_json()
    routine = created.get_json()
    assert [i["exercise"]["id"] for i in routine["items"]] == [first, second, third]
    assert [i["position"] for i in routine["items"]] == [0, 1, 2]
    library_dose = therapist.get(f"/api/exercises/{first}").get_json()["dose"]
    assert routine["items"][0]["dose"] == library_dose
    assert routine["items"][1]["dose"]["reps"] == 12 and routine["items"][1]["dose"]["hold_seconds"] is None
    assert routine["items"][2]["dose"]["hold_seconds"] == 45 and routine["items"][2]["dose"]["reps"] is None
    assert routine["items"][1]["note"] == "Slowly"
    assert routine["estimated_minutes"] >= 1 and routine["library"] is False
    assert therapist.get(f"/api/routines/{routine['id']}").get_json() == routine
    assert [r["id"] for r in therapist.get("/api/routines").get_json()] == [routine["id"]]


def test_copy_a_template_then_save_as_own_template(make):
    therapist = make.therapist()
    template = therapist.get("/api/templates").get_json()[0]
    copy = therapist.post("/api/routines", json={"copy_of": template["id"], "name": "Mine"}).get_json()
    assert copy["name"] == "Mine" and copy["library"] is False
    assert [i["exercise"]["id"] for i in copy["items"]] == [i["exercise"]["id"] for i in template["items"]]
    assert [i["dose"] for i in copy["items"]] == [i["dose"] for i in template["items"]]
    own_template = therapist.post("/api/routines", json={"copy_of": copy["id"], "is_template": True}).get_json()
    assert own_template["is_template"] is True
    listed = therapist.get("/api/templates").get_json()
    assert listed[-1]["id"] == own_template["id"] and listed[0]["library"] is True
    assert [r["id"] for r in therapist.get("/api/routines?templates=true").get_json()] == [own_template["id"]]
    other = make.therapist()
    assert own_template["id"] not in [t["id"] for t in other.get("/api/templates").get_json()]


def test_replace_and_delete(make):
    therapist = make.therapist()
    first, second, _ = _exercise_ids(therapist)
    routine = therapist.post("/api/routines", json={"name": "A", "items": [{"exercise_id": first}]}).get_json()
    replaced = therapist.put(
        f"/api/routines/{routine['id']}",
        json={"name": "B", "items": [{"exercise_id": second}, {"exercise_id": first}], "purpose": "Mobility"},
    )
    assert replaced.status_code == 200
    body = replaced.get_json()
    assert body["name"] == "B" and body["purpose"] == "Mobility"
    assert [i["exercise"]["id"] for i in body["items"]] == [second, first]
    assert therapist.delete(f"/api/routines/{routine['id']}").status_code == 204
    assert therapist.get(f"/api/routines/{routine['id']}").status_code == 404


def test_library_templates_are_read_only(make):
    therapist = make.therapist()
    template = therapist.get("/api/templates").get_json()[0]
    first = _exercise_ids(therapist, 1)[0]
    put = therapist.put(f"/api/routines/{template['id']}", json={"name": "Mine now", "items": [{"exercise_id": first}]})
    assert put.status_code == 403
    assert therapist.delete(f"/api/routines/{template['id']}").status_code == 403
    assert therapist.get(f"/api/routines/{template['id']}").get_json()["name"] == template["name"]


def test_routine_input_is_validated(make):
    therapist = make.therapist()
    first = _exercise_ids(therapist, 1)[0]
    stranger = make.therapist()
    foreign = stranger.post("/api/exercises", json={
        "name": "Secret move", "regions": ["hips"], "kind": "mobility",
        "steps": ["Do it."], "dose": {"sets": 1, "reps": 5},
    }).get_json()["id"]
    cases = [
        ({"name": "No items"}, "items"),
        ({"items": [{"exercise_id": first}]}, "name"),
        ({"name": "Empty", "items": []}, "items"),
        ({"name": "Ghost", "items": [{"exercise_id": 999999}]}, "items.0.exercise_id"),
        ({"name": "Foreign", "items": [{"exercise_id": foreign}]}, "items.0.exercise_id"),
        ({"name": "Both", "items": [{"exercise_id": first, "reps": 5, "hold_seconds": 5}]}, "items"),
        ({"name": "Zero", "items": [{"exercise_id": first, "sets": 0}]}, "items"),
        ({"name": "Str", "items": [{"exercise_id": str(first)}]}, "items"),
        ({"name": "Many", "items": [{"exercise_id": first}] * 31}, "items"),
    ]
    for body, field in cases:
        response = therapist.post("/api/routines", json=body)
        assert response.status_code == 422, body
        assert field in response.get_json()["errors"], (body, response.get_json())
    assert therapist.get("/api/routines").get_json() == []
    assert therapist.post("/api/routines", json={"copy_of": 999999}).status_code == 404
