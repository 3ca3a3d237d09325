def test_aldi_smoke(crawl, site):
    result = crawl("aldi", args={"stores": "G102,G105"})
    print(result.log[-6000:])
    print(result.reason, {k: v for k, v in result.stats.items() if k.startswith("grocer")})
    print(len(result.items))
    assert result.reason == "finished"
