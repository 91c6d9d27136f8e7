"""Files -> takes: where the data is (sources), the corpora's naming rules, the manifest."""
