#!/usr/bin/env ruby
# Submit a request to a spoolrunner spool and wait for its end (Ruby standard library only).
# Usage: submit.rb SPOOL PROCESS_TYPE [NAME=VALUE ...]
# Prints "<process_id> <status>" and exits 0 only on success, like `spoolrunner submit --wait`.
require "json"
require "securerandom"

FINAL = %w[success failed cancelled rejected].freeze
spool, process_type, *pairs = ARGV
# The id is the idempotency key: keep it to resubmit the same request safely.
process_id = "proc_" + SecureRandom.hex(6)
request = { "process_type" => process_type }
pairs.each do |pair|
  name, value = pair.split("=", 2)
  request[name] = value
end

# Maildir protocol: write and fsync under tmp/, then rename(2) into inbox/ in one step.
temp = File.join(spool, "tmp", "#{process_id}.json.#{Process.pid}")
File.open(temp, File::WRONLY | File::CREAT | File::EXCL) do |file|
  file.write(JSON.generate(request))
  file.fsync
end
File.rename(temp, File.join(spool, "inbox", "#{process_id}.json"))

status_file = File.join(spool, "outbox", "#{process_id}.json")
loop do
  status = begin
    JSON.parse(File.read(status_file))["status"]
  rescue Errno::ENOENT
    nil
  end
  if FINAL.include?(status)
    puts "#{process_id} #{status}"
    exit(status == "success" ? 0 : 1)
  end
  sleep 0.2
end
