"""The ``simatch`` command (Typer): one module per group of commands, all on the services;
``terminal`` holds the consoles and ``opened()``, the one way a command opens the container."""
