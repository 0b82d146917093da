defmodule Oxbeam.Test.UpgradeLayout do
  @moduledoc """
  Version 1 of `tests/upgrade_layout`, which `test/nif/upgrade_layout_test.exs`
  hot-upgrades to version 2 (the crate built with the feature `v2`) in a child VM.
  """
  use Oxbeam,
    otp_app: :oxbeam,
    crate: "oxbeam_upgrade_layout",
    path: "../tests/upgrade_layout"
end
