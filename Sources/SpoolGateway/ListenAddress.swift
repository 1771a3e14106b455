import FlyingSocks

#if canImport(Glibc)
import Glibc
#endif

/// `--listen HOST:PORT`: an IPv4 address (`127.0.0.1:8080`) or a bracketed IPv6 one (`[::1]:8080`);
/// port 0 asks the kernel for a free port (the bound address is logged).
public struct ListenAddress: Sendable, CustomStringConvertible {
    public enum Host: Sendable {
        case ipv4(String)
        case ipv6(String)
    }

    public var host: Host
    public var port: UInt16

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else {
            return nil
        }
        let host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            let inner = String(host.dropFirst().dropLast())
            guard (try? sockaddr_in6.inet6(ip6: inner, port: port)) != nil else { return nil }
            self.host = .ipv6(inner)
        } else {
            guard (try? sockaddr_in.inet(ip4: host, port: port)) != nil else { return nil }
            self.host = .ipv4(host)
        }
        self.port = port
    }

    public var description: String {
        switch host {
        case .ipv4(let address): "\(address):\(port)"
        case .ipv6(let address): "[\(address)]:\(port)"
        }
    }

    func socketAddress() throws -> any SocketAddress {
        switch host {
        case .ipv4(let address): try sockaddr_in.inet(ip4: address, port: port)
        case .ipv6(let address): try sockaddr_in6.inet6(ip6: address, port: port)
        }
    }
}
