//! cable-ble (in progress)
