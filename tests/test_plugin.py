"""Tests for the twistd plugin in twisted/plugins/kmipd_plugin.py."""

from __future__ import annotations

from twisted.application.service import IServiceMaker
from twisted.plugin import getPlugins
from twisted.trial.unittest import SynchronousTestCase

import kmipd.tap


class PluginTests(SynchronousTestCase):
    """C{twistd kmip} is discoverable."""

    def kmip(self) -> IServiceMaker:
        makers = [m for m in getPlugins(IServiceMaker) if m.tapname == "kmip"]
        self.assertEqual(len(makers), 1, "exactly one plugin has tapname 'kmip'")
        return makers[0]

    def test_discovered(self) -> None:
        """getPlugins(IServiceMaker) finds a maker with tapname 'kmip' and a description."""
        maker = self.kmip()
        self.assertTrue(IServiceMaker.providedBy(maker))
        self.assertIn("KMIP", maker.description)

    def test_points_at_tap(self) -> None:
        """The plugin's options and makeService are kmipd.tap's."""
        maker = self.kmip()
        self.assertIs(maker.options, kmipd.tap.Options)
        self.assertEqual(maker.makeService.__func__ if hasattr(maker.makeService, "__func__")
                         else maker.makeService, kmipd.tap.makeService)
