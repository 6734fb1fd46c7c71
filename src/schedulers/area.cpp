// area: schedulers (sources land here)
