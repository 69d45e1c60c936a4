def test_rep_creates_customer_and_phone_forms_collapse_to_e164(rep, api):
    client = api(rep)
    r = client.post("customers", {"name": "李四", "phones": ["138 0013 8000"]})
    assert r.status_code == 201, r.content
    assert r.json()["phones"] == ["+8613800138000"]
    r = client.post("customers", {"name": "李四二", "phones": ["8613800138000"]})
    assert r.status_code == 409
    assert r.json()["duplicates"][0]["name"] == "李四"
