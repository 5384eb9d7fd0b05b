"""cartsmith's chat UI on the default shop: `python app.py` (what `make run` starts).

The UI itself is `assistant.serve.ui`; `cartsmith ui` starts the same thing.
HOST/PORT come from CARTSMITH_HOST / CARTSMITH_PORT, the index from CARTSMITH_INDEX.
"""

from assistant.serve.ui import main

if __name__ == "__main__":
    main()
