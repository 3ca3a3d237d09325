"""grocer's custom `scrapy` commands (COMMANDS_MODULE = "grocer.commands"); base in grocer.command_base."""
