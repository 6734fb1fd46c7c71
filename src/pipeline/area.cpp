// area: pipeline (sources land here)
