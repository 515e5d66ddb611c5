# Render one BOSH job template with real ERB, the way bosh-template does it.
#
#   ruby render.rb SPEC TEMPLATE PROPERTIES_JSON
#
# PROPERTIES_JSON holds the manifest's (nested) properties for the job. As the director does
# (DeploymentPlan::Job#extract_template_properties → copy_property), only properties the spec
# declares reach the template, each taking the spec default when the manifest leaves it unset.
# The template sees p(), if_p(), spec and properties like bosh-template's EvaluationContext;
# p() of an unset property without a default raises UnknownProperty (exit status 3).
require 'erb'
require 'json'
require 'ostruct'
require 'yaml'

class UnknownProperty < StandardError
  def initialize(names)
    super("Can't find property '#{names.inspect}'")
  end
end

class InactiveElseBlock
  def else; end
end

class ActiveElseBlock
  def initialize(context)
    @context = context
  end

  def else
    yield
  end
end

class EvaluationContext
  attr_reader :spec, :name, :index

  def initialize(spec, manifest_properties)
    @raw_properties = {}
    (spec['properties'] || {}).each_pair do |name, definition|
      copy_property(@raw_properties, manifest_properties, name, (definition || {})['default'])
    end
    @name = spec['name']
    @index = 0
    @spec = openstruct('name' => spec['name'], 'index' => 0, 'properties' => @raw_properties)
  end

  def properties
    openstruct(@raw_properties)
  end

  def p(*args)
    names = Array(args[0])
    names.each do |name|
      value = lookup_property(@raw_properties, name)
      return value unless value.nil?
    end
    return args[1] if args.length == 2

    raise UnknownProperty, names
  end

  def if_p(*names)
    values = names.map do |name|
      value = lookup_property(@raw_properties, name)
      return ActiveElseBlock.new(self) if value.nil?

      value
    end
    yield(*values)
    InactiveElseBlock.new
  end

  def get_binding
    binding
  end

  private

  def lookup_property(collection, name)
    name.split('.').inject(collection) do |node, key|
      return nil unless node.is_a?(Hash) && node.key?(key)

      node[key]
    end
  end

  def copy_property(dst, src, name, default)
    value = lookup_property(src, name)
    *parents, leaf = name.split('.')
    node = parents.inject(dst) { |acc, key| acc[key] ||= {} }
    node[leaf] = value.nil? ? default : value
  end

  def openstruct(object)
    case object
    when Hash then OpenStruct.new(object.transform_values { |v| openstruct(v) })
    when Array then object.map { |v| openstruct(v) }
    else object
    end
  end
end

spec_path, template_path, properties_path = ARGV
spec = YAML.safe_load(File.read(spec_path))
manifest_properties = JSON.parse(File.read(properties_path))
context = EvaluationContext.new(spec, manifest_properties)
begin
  $stdout.write(ERB.new(File.read(template_path), trim_mode: '-').result(context.get_binding))
rescue UnknownProperty => e
  warn "Error filling in template '#{File.basename(template_path)}': #{e.message}"
  exit 3
end
