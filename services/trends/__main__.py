"""The trends service process; its RPCs answer UNIMPLEMENTED until its issue lands."""

from services.kit.unimplemented import run_unimplemented

if __name__ == "__main__":
    run_unimplemented("trends")
