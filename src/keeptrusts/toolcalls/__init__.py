"""Tool calls as actions: shell commands (parsed statically), patch file operations, JS tool calls.

Used by the agent-firewall (is this command allowed?) and the quality-scorer (does this patch apply?).
Nothing here executes anything or imports mitmproxy.
"""
from .actions import Action, extract_actions, tool_call_effects
from .effects import Effects, effects, effects_of
from .patch import FileOp, apply_hunks, parse_patch
from .shell import DYN, SimpleCommand, parse_shell

__all__ = ["Action", "extract_actions", "tool_call_effects", "Effects", "effects", "effects_of", "FileOp", "apply_hunks", "parse_patch",
           "DYN", "SimpleCommand", "parse_shell"]
