# FLAME (a runner's results come back to the caller's node): when FLAME is loaded at
# compile time, the objects in a result are tracked from the caller's node, so that
# the runner keeps them (and stays up) while the caller holds them. No dependency on
# FLAME: this compiles to nothing without it.
if Code.ensure_loaded?(FLAME.Trackable) do
  defimpl FLAME.Trackable, for: Oxbeam.Python.Object do
    def track(object, acc, _node) do
      case Oxbeam.Python.Remote.track(object) do
        {object, nil} -> {object, acc}
        {object, marker} -> {object, [marker | acc]}
      end
    end
  end
end
