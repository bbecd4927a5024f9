namespace Linesight.Host.Streams;

/// <summary>Owns what a several-streams run builds one stream at a time, disposing it in reverse order (last built, first gone).</summary>
internal sealed class DisposalStack : IAsyncDisposable
{
    private readonly Stack<IAsyncDisposable> _owned = new();

    public T Add<T>(T owned)
        where T : IAsyncDisposable
    {
        _owned.Push(owned);
        return owned;
    }

    public T AddSync<T>(T owned)
        where T : IDisposable
    {
        _owned.Push(new Wiring.OwnedSession(owned));
        return owned;
    }

    public async ValueTask DisposeAsync()
    {
        while (_owned.TryPop(out var next))
        {
            await next.DisposeAsync().ConfigureAwait(false);
        }
    }
}
