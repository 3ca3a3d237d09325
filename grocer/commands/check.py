"""`scrapy check`: Scrapy's contract check as a dry run (see grocer.commands.parse)."""

from scrapy.commands.check import Command as ScrapyCheck

from grocer.commands.parse import DryRun


class Command(DryRun, ScrapyCheck):
    pass
