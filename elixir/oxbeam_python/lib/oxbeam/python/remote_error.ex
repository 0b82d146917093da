defmodule Oxbeam.Python.RemoteError do
  @moduledoc """
  Raised when Python work on another node cannot be done or finished: the node is down
  or went down during the call (a pool worker that crashed: `pool` and `reason` say
  which and why), or a remote object is no longer held there.
  """
  defexception [:message, :node, :pool, :reason]

  @type t :: %__MODULE__{
          message: String.t(),
          node: node(),
          pool: atom() | nil,
          reason: term()
        }
end
