// area: output (sources land here)
