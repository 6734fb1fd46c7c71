// area: models (sources land here)
