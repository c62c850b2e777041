"""The staff console at /console (IVR_CONSOLE=1). So far: the password policy and hashing."""
