// area: backend/cpu (sources land here)
