"""Scanner sources (serial, HID keyboard wedge, TCP), card-code reading and debouncing."""
